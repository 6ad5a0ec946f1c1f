"""Submitting evidence (agency side) and receiving it at the laboratory (intake)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core.errors import Conflict
from despp.core.models import AuditAction, User
from despp.core.permissions import Action
from despp.forensics.events import Kind
from despp.forensics.models import (
    ExaminationType,
    Item,
    ItemStatus,
    ItemType,
    LabNumberCounter,
    LabRequest,
    Packaging,
    Priority,
    Submission,
    SubmissionStatus,
)
from despp.forensics.services._common import (
    allow,
    audit_write,
    clean_text,
    field_error,
    item_events,
    request_event,
    user_ref,
)

MAX_ITEMS = 500


@dataclass(frozen=True)
class ItemSpec:
    """One item as the submitter lists it."""

    description: str
    item_type: str
    packaging: str
    seal_number: str = ""
    quantity: int = 1


@dataclass(frozen=True)
class ExamSpec:
    """One examination wanted, on the listed items (0-based positions in the item list)."""

    examination: str  # ExaminationType.code
    items: Sequence[int]


@dataclass(frozen=True)
class Receipt:
    """What intake found for one item: delivered or not, seal condition, discrepancy."""

    item_id: int
    received: bool = True
    seal_intact: bool = True
    discrepancy: str = ""


@dataclass(frozen=True)
class SubmissionSpec:
    case_number: str
    offense: str
    items: Sequence[ItemSpec]
    examinations: Sequence[ExamSpec]
    officer_name: str = ""
    officer_badge: str = ""
    officer_email: str = ""
    offense_date: date | None = None
    priority: str = Priority.ROUTINE
    court_date: date | None = None
    notes: str = ""
    notify_emails: Sequence[str] = field(default_factory=tuple)


def next_lab_number(year: int) -> str:
    """The year's next lab number ("L26-00042"), under a row lock (inside a transaction)."""
    LabNumberCounter.objects.get_or_create(year=year)
    counter = LabNumberCounter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"L{year % 100:02d}-{counter.last:05d}"


def _check_item(index: int, spec: ItemSpec) -> None:
    where = f"items.{index}"
    clean_text(f"{where}.description", spec.description, max_length=300)
    if spec.item_type not in ItemType.values:
        raise field_error(f"{where}.item_type", f"Unknown item type {spec.item_type!r}.")
    if spec.packaging not in Packaging.values:
        raise field_error(f"{where}.packaging", f"Unknown packaging {spec.packaging!r}.")
    clean_text(f"{where}.seal_number", spec.seal_number, max_length=40, required=False)
    if not 1 <= spec.quantity <= 100_000:
        raise field_error(f"{where}.quantity", "Quantity must be between 1 and 100000.")


def _check_spec(spec: SubmissionSpec) -> dict[str, ExaminationType]:
    clean_text("case_number", spec.case_number, max_length=40)
    clean_text("offense", spec.offense, max_length=160)
    clean_text("officer_name", spec.officer_name, max_length=120, required=False)
    clean_text("officer_badge", spec.officer_badge, max_length=20, required=False)
    clean_text("notes", spec.notes, max_length=4000, required=False)
    if spec.priority not in Priority.values:
        raise field_error("priority", f"Unknown priority {spec.priority!r}.")
    if spec.priority == Priority.COURT and spec.court_date is None:
        raise field_error("court_date", "A court-date priority needs the court date.")
    for name, address in [("officer_email", spec.officer_email)] + [
        (f"notify_emails.{n}", a) for n, a in enumerate(spec.notify_emails)
    ]:
        if address:
            try:
                validate_email(address)
            except ValidationError:
                raise field_error(name, f"{address[:80]!r} is not an e-mail address.") from None
    if not spec.items:
        raise field_error("items", "List at least one item.")
    if len(spec.items) > MAX_ITEMS:
        raise field_error("items", f"At most {MAX_ITEMS} items per submission.")
    for index, item in enumerate(spec.items):
        _check_item(index, item)
    if not spec.examinations:
        raise field_error("examinations", "Request at least one examination.")
    codes = {exam.examination for exam in spec.examinations}
    found = {
        exam.code: exam
        for exam in ExaminationType.objects.filter(code__in=codes, active=True).select_related(
            "section"
        )
    }
    for index, exam in enumerate(spec.examinations):
        where = f"examinations.{index}"
        if exam.examination not in found:
            raise field_error(f"{where}.examination", f"No examination {exam.examination!r}.")
        if not exam.items:
            raise field_error(f"{where}.items", "Name the items to examine.")
        for position in exam.items:
            if not 0 <= position < len(spec.items):
                raise field_error(f"{where}.items", f"There is no item {position + 1}.")
    return found


def submit_evidence(
    actor: User, spec: SubmissionSpec, *, request: HttpRequest | None = None
) -> Submission:
    """An agency user submits a case's items and the examinations wanted.

    Needs evidence.submit and an agency (the submitting agency is the actor's). Creates the
    submission with a new lab number, its items (numbered 1..n, each with its barcode and an
    `item.submitted` event) and one lab request per examination (`request.created`). 422
    naming the field for bad input; nothing is written then.
    """
    allow(actor, Action.EVIDENCE_SUBMIT, request)
    if actor.agency_id is None:
        raise Conflict("Your account belongs to no agency, so it cannot submit evidence.")
    exams = _check_spec(spec)
    now = timezone.now()
    with transaction.atomic():
        submission = Submission.objects.create(
            lab_number=next_lab_number(timezone.localdate(now).year),
            case_number=spec.case_number.strip(),
            offense=spec.offense.strip(),
            offense_date=spec.offense_date,
            agency_id=actor.agency_id,
            submitted_by=actor,
            officer_name=spec.officer_name.strip() or actor.get_full_name() or actor.username,
            officer_badge=spec.officer_badge.strip() or actor.badge_number,
            officer_email=spec.officer_email or actor.email,
            notify_emails=list(spec.notify_emails),
            priority=spec.priority,
            court_date=spec.court_date,
            notes=spec.notes.strip(),
            submitted_at=now,
        )
        items = Item.objects.bulk_create(
            [
                Item(
                    submission=submission,
                    item_number=str(number),
                    description=item.description.strip(),
                    item_type=item.item_type,
                    packaging=item.packaging,
                    seal_number=item.seal_number.strip(),
                    quantity=item.quantity,
                    barcode=f"{submission.lab_number}-{number}",
                )
                for number, item in enumerate(spec.items, start=1)
            ]
        )
        if any(item.pk is None for item in items):  # backends without RETURNING
            items = list(submission.items.order_by("id"))
        requests = []
        for exam in spec.examinations:
            exam_type = exams[exam.examination]
            lab_request = LabRequest.objects.create(
                submission=submission,
                examination_type=exam_type,
                section=exam_type.section,
                priority=spec.priority,
                requested_at=now,
            )
            lab_request.items.set([items[position] for position in sorted(set(exam.items))])
            requests.append((lab_request, exam_type, sorted(set(exam.items))))
        audit_write(
            AuditAction.CREATE, actor, request, "submission", submission.pk,
            lab_number=submission.lab_number, items=len(items), requests=len(requests),
        )  # fmt: skip
        item_events(
            [
                (
                    item,
                    Kind.ITEM_SUBMITTED,
                    {
                        "submission": submission.pk,
                        "lab_number": submission.lab_number,
                        "case_number": submission.case_number,
                        "agency": submission.agency_id,
                        "item_number": item.item_number,
                        "barcode": item.barcode,
                        "description": item.description,
                        "item_type": item.item_type,
                        "packaging": item.packaging,
                        "seal_number": item.seal_number,
                        "quantity": item.quantity,
                        "submitted_by": user_ref(actor),
                        "officer": submission.officer_name,
                    },
                )
                for item in items
            ],
            actor,
        )
        for lab_request, exam_type, positions in requests:
            request_event(
                lab_request,
                Kind.REQUEST_CREATED,
                {
                    "submission": submission.pk,
                    "lab_number": submission.lab_number,
                    "examination": exam_type.code,
                    "section": exam_type.section.code,
                    "items": [items[position].pk for position in positions],
                },
                actor,
            )
    return submission


def refresh_submission_status(submission: Submission) -> None:
    """The submission's status and date of receipt follow its items (projection)."""
    statuses = list(submission.items.values_list("status", "received_at"))
    received = [at for status, at in statuses if at is not None]
    status = SubmissionStatus.SUBMITTED
    if received:
        status = SubmissionStatus.RECEIVED
    final = {ItemStatus.RETURNED, ItemStatus.DESTROYED, ItemStatus.NOT_RECEIVED}
    if received and all(item_status in final for item_status, _ in statuses):
        status = SubmissionStatus.CLOSED
    received_at = min(received) if received else None
    if (submission.status, submission.received_at) != (status, received_at):
        submission.status = status
        submission.received_at = received_at
        submission.save(update_fields=["status", "received_at"])


def receive_items(
    actor: User,
    submission: Submission,
    receipts: Sequence[Receipt],
    *,
    request: HttpRequest | None = None,
) -> list[Item]:
    """Intake receives items against a submission: each delivered item passes into the
    receiving person's custody (`item.received`, with the seal's condition and any
    discrepancy); an item listed but not delivered is recorded as such (`item.not_received`,
    a discrepancy is then required). Needs evidence.intake. 409 when an item was already
    received or is not on this submission; nothing is written then."""
    allow(actor, Action.EVIDENCE_INTAKE, request)
    if not receipts:
        raise field_error("receipts", "Name at least one item.")
    ids = [receipt.item_id for receipt in receipts]
    if len(set(ids)) != len(ids):
        raise field_error("receipts", "An item is listed twice.")
    for index, receipt in enumerate(receipts):
        clean_text(f"receipts.{index}.discrepancy", receipt.discrepancy, max_length=1000,
                   required=not receipt.received or not receipt.seal_intact)  # fmt: skip
    with transaction.atomic():
        locked = {
            item.pk: item
            for item in Item.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        }
        for index, receipt in enumerate(receipts):
            item = locked.get(receipt.item_id)
            if item is None or item.submission_id != submission.pk:
                raise field_error(f"receipts.{index}.item", "Not an item of this submission.")
            if item.status != ItemStatus.SUBMITTED:
                raise Conflict(
                    f"Item {item.item_number} is already {item.get_status_display().lower()}.",
                    current_state=item.status,
                )
        batch: list[tuple[Item, str, dict[str, Any]]] = []
        for receipt in receipts:
            item = locked[receipt.item_id]
            if receipt.received:
                data = {
                    "holder": actor.pk,
                    "holder_name": user_ref(actor)["name"],
                    "received_from": submission.officer_name,
                    "agency": submission.agency_id,
                    "seal_intact": receipt.seal_intact,
                    "discrepancy": receipt.discrepancy.strip(),
                }
                batch.append((item, Kind.ITEM_RECEIVED, data))
            else:
                batch.append(
                    (item, Kind.ITEM_NOT_RECEIVED, {"discrepancy": receipt.discrepancy.strip()})
                )
        item_events(batch, actor)
        done = [item for item, _, _ in batch]
        refresh_submission_status(submission)
        audit_write(
            AuditAction.UPDATE, actor, request, "submission", submission.pk,
            received=[i.pk for i in done if i.status == ItemStatus.IN_LAB],
            not_received=[i.pk for i in done if i.status == ItemStatus.NOT_RECEIVED],
        )  # fmt: skip
    return done
