"""Report versions (their frozen content, made from the events) and their delivery.

A version's `content` holds everything ISO/IEC 17025:2017 7.8.2.1 asks a report to show, taken
from the events of the request and of its items: the method versions, instruments and analysts
from the `result.recorded` events, the reviewers from the review events, the date of receipt
and the items' condition from the custody events. The content is hashed with the
`report.released` event, so a version cannot change unnoticed; the PDF is drawn from it alone.

Deliveries: the submitting agency's portal (delivered at release: the portal reads the report
through the selectors), the submitting officer's e-mail and any extra addresses on the
submission (sent after commit; each failure is recorded per recipient with its reason, and can
be retried).
"""

import hashlib
import logging
from typing import Any

from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core.eventlog import canonical_json
from despp.core.models import AuditAction, Event, User
from despp.core.permissions import Action
from despp.forensics.events import Kind
from despp.forensics.models import (
    DeliveryChannel,
    DeliveryStatus,
    Item,
    LabRequest,
    Report,
    ReportDelivery,
    ReportVersion,
    Result,
    ReviewOutcome,
)
from despp.forensics.services._common import allow, audit_write, display_name, report_event

logger = logging.getLogger("despp.forensics")

LABORATORY_NAME = "Connecticut Division of Scientific Services, Forensic Science Laboratory"
LABORATORY_ADDRESS = "278 Colony Street, Meriden, CT 06451"
STATEMENT = "The results in this report relate only to the items tested."
EMAIL_TIMEOUT_SECONDS = 15


def _stamp(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _events(stream: str) -> list[Event]:
    return list(Event.objects.filter(stream=stream).order_by("position"))


def _current_results(events: list[Event]) -> list[dict[str, Any]]:
    results: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.kind == Kind.RESULT_RECORDED:
            data = event.data
            if data.get("supersedes_event") is not None:
                results.pop(data["supersedes_event"], None)
            results[event.seq] = {**data, "recorded_at": _stamp(event.at)}
    # Results keep their event's seq as identity (the Result row's id is only a projection).
    by_event = dict(Result.objects.filter(event_id__in=results).values_list("event_id", "pk"))
    return [{**data, "result": by_event.get(seq)} for seq, data in sorted(results.items())]


def _round(events: list[Event]) -> list[Event]:
    """The events since the analyst last handed the work in (the reviews that count)."""
    last = max((i for i, e in enumerate(events) if e.kind == Kind.REQUEST_COMPLETED), default=0)
    return events[last:]


def _reviewer(events: list[Event], kind: str) -> dict[str, Any] | None:
    for event in reversed(_round(events)):
        if event.kind == kind and event.data["outcome"] == ReviewOutcome.APPROVED:
            return {"name": event.data["reviewer_name"], "at": _stamp(event.at)}
    return None


def _item_facts(item: Item) -> dict[str, Any]:
    events = _events(item.stream)
    receipt = next(
        (e for e in events if e.kind in {Kind.ITEM_RECEIVED, Kind.ITEM_CREATED_FROM}), None
    )
    return {
        "item_number": item.item_number,
        "barcode": item.barcode,
        "description": item.description,
        "item_type": item.get_item_type_display(),
        "packaging": item.get_packaging_display(),
        "quantity": item.quantity,
        "seal_number": item.seal_number,
        "received_at": _stamp(receipt.at) if receipt else None,
        "seal_intact_at_receipt": receipt.data.get("seal_intact") if receipt else None,
        "condition": (receipt.data.get("discrepancy") if receipt else "") or "",
        "parent": receipt.data.get("parent_barcode", "") if receipt else "",
    }


def report_content(
    lab_request: LabRequest, *, number: str, version: int, authoriser: User, amendment: str
) -> dict[str, Any]:
    """Everything the report shows, from the events (see the module docstring)."""
    events = _events(lab_request.stream)
    submission = lab_request.submission
    items = [_item_facts(item) for item in lab_request.items.order_by("id")]
    results = _current_results(events)
    started = next((e.at for e in events if e.kind == Kind.REQUEST_STARTED), None)
    completed = [e.at for e in events if e.kind == Kind.REQUEST_COMPLETED]
    received = sorted(i["received_at"] for i in items if i["received_at"])
    methods = {(r["method_code"], r["method_name"], r["method_version"]) for r in results}
    instruments = {(r["instrument_tag"], r["instrument_name"]) for r in results if r["instrument"]}
    lab = authoriser.agency
    return {
        "title": f"Laboratory report: {lab_request.examination_type.name}",
        "laboratory": {
            "name": lab.name if lab is not None else LABORATORY_NAME,
            "address": LABORATORY_ADDRESS,
        },
        "report_number": number,
        "version": version,
        "issued_at": _stamp(timezone.now()),
        "lab_number": submission.lab_number,
        "customer": {
            "agency": submission.agency.name,
            "agency_code": submission.agency.code,
            "officer": submission.officer_name,
            "badge": submission.officer_badge,
        },
        "case_number": submission.case_number,
        "offense": submission.offense,
        "examination": lab_request.examination_type.name,
        "section": lab_request.section.name,
        "methods": [
            {"code": code, "name": name, "version": v} for code, name, v in sorted(methods)
        ],
        "instruments": [{"asset_tag": tag, "name": name} for tag, name in sorted(instruments)],
        "items": items,
        "received_at": received[0] if received else None,
        "work_started_at": _stamp(started),
        "work_completed_at": _stamp(completed[-1]) if completed else None,
        "results": [
            {
                key: r[key]
                for key in (
                    "item_number",
                    "finding",
                    "value",
                    "units",
                    "method_name",
                    "method_version",
                    "instrument_tag",
                    "analyst_name",
                    "recorded_at",
                    "notes",
                )
            }
            for r in results
        ],
        "analysts": sorted({r["analyst_name"] for r in results}),
        "technical_review": _reviewer(events, Kind.REVIEW_TECHNICAL),
        "administrative_review": _reviewer(events, Kind.REVIEW_ADMINISTRATIVE),
        "authorised_by": display_name(authoriser),
        "statement": STATEMENT,
        "amendment": (
            {"reason": amendment, "supersedes_version": version - 1} if version > 1 else None
        ),
    }


def content_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def issue_version(actor: User, lab_request: LabRequest) -> ReportVersion:
    """The next version of the request's report (inside release_request's transaction)."""
    submission = lab_request.submission
    report = Report.objects.select_for_update().filter(lab_request=lab_request).first()
    if report is None:
        position = list(submission.requests.order_by("id").values_list("id", flat=True))
        number = f"{submission.lab_number}-R{position.index(lab_request.pk) + 1}"
        report = Report.objects.create(lab_request=lab_request, number=number)
    version = report.current_version + 1
    content = report_content(
        lab_request,
        number=report.number,
        version=version,
        authoriser=actor,
        amendment=lab_request.amendment_reason,
    )
    recipients = _recipients(lab_request)
    event = report_event(
        report,
        Kind.REPORT_RELEASED,
        {
            "version": version,
            "content": content,
            "content_sha256": content_digest(content),
            "amendment_reason": lab_request.amendment_reason,
            "recipients": recipients,
        },
        actor,
    )
    stored = event.data["content"]  # as the database will hand it back (and as hashed)
    report_version = ReportVersion.objects.create(
        report=report,
        version=version,
        amendment_reason=lab_request.amendment_reason,
        content=stored,
        released_by=actor,
        released_at=event.at,
        event=event,
    )
    _plan_deliveries(actor, report, report_version, recipients)
    transaction.on_commit(lambda: _deliver_after_commit(actor, report_version.pk))
    return report_version


def _recipients(lab_request: LabRequest) -> list[dict[str, Any]]:
    submission = lab_request.submission
    recipients: list[dict[str, Any]] = [
        {"channel": DeliveryChannel.PORTAL, "recipient": submission.agency.code,
         "agency": submission.agency_id},
        {"channel": DeliveryChannel.EMAIL, "recipient": submission.officer_email,
         "agency": submission.agency_id, "role": "submitting officer"},
    ]  # fmt: skip
    for address in submission.notify_emails:
        if address and address != submission.officer_email:
            recipients.append(
                {"channel": DeliveryChannel.EMAIL, "recipient": address, "agency": None}
            )
    return recipients


def _plan_deliveries(
    actor: User, report: Report, version: ReportVersion, recipients: list[dict[str, Any]]
) -> None:
    for recipient in recipients:
        delivery = ReportDelivery.objects.create(
            version=version,
            channel=recipient["channel"],
            recipient=recipient["recipient"] or f"({recipient.get('role', 'recipient')})",
            recipient_agency_id=recipient["agency"],
        )
        if delivery.channel == DeliveryChannel.PORTAL:
            _record_attempt(actor, report, delivery, "")
        elif not recipient["recipient"]:
            _record_attempt(
                actor, report, delivery, "no e-mail address on file for the submitting officer"
            )


def _record_attempt(
    actor: User | None, report: Report, delivery: ReportDelivery, failure: str
) -> None:
    now = timezone.now()
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.status = DeliveryStatus.FAILED if failure else DeliveryStatus.DELIVERED
    delivery.failure_reason = failure[:300]
    delivery.delivered_at = None if failure else now
    delivery.save()
    report_event(
        report,
        Kind.DELIVERY_FAILED if failure else Kind.DELIVERY_DELIVERED,
        {
            "version": delivery.version.version,
            "channel": delivery.channel,
            "recipient": delivery.recipient,
            "attempt": delivery.attempts,
            "reason": failure[:300],
        },
        actor,
    )


def _deliver_after_commit(actor: User, version_id: int) -> None:
    try:
        version = ReportVersion.objects.get(pk=version_id)
        deliver_report(actor, version, check_permission=False, retry_failed=False)
    except Exception:  # the release stands; each failure is recorded per recipient
        logger.exception("report delivery after release failed for version %s", version_id)


def _send(delivery: ReportDelivery, pdf: bytes) -> str:
    """Send one e-mail; the failure reason, or "" when the mail server accepted it."""
    version = delivery.version
    message = EmailMessage(
        subject=f"Laboratory report {version.report.number} (version {version.version})",
        body=(
            f"The laboratory report {version.report.number}, version {version.version}, is "
            "attached. It is also available to your agency on the laboratory portal."
        ),
        to=[delivery.recipient],
        connection=get_connection(timeout=EMAIL_TIMEOUT_SECONDS),
    )
    message.attach(f"{version.report.number}-v{version.version}.pdf", pdf, "application/pdf")
    try:
        accepted = message.send()
    except Exception as exc:  # any failure of the mail system is a failed delivery
        return f"{type(exc).__name__}: {exc}".rstrip(": ")
    return "" if accepted else "the mail server accepted no recipient"


def deliver_report(
    actor: User,
    version: ReportVersion,
    *,
    request: HttpRequest | None = None,
    check_permission: bool = True,
    retry_failed: bool = True,
) -> list[ReportDelivery]:
    """Send every e-mail delivery of a version not yet attempted (and, with `retry_failed`,
    retry those that failed); each attempt is recorded per recipient (`delivery.delivered` /
    `delivery.failed` with the reason), in its own transaction, so one failing recipient never
    hides another. Needs lab.release."""
    from despp.forensics.pdf import report_pdf

    if check_permission:
        allow(actor, Action.LAB_RELEASE, request)
    wanted = [DeliveryStatus.PENDING, *([DeliveryStatus.FAILED] if retry_failed else [])]
    pending = list(
        version.deliveries.filter(channel=DeliveryChannel.EMAIL, status__in=wanted).select_related(
            "version__report"
        )
    )
    if not pending:
        return []
    pdf = report_pdf(version)
    for delivery in pending:
        failure = (
            _send(delivery, pdf)
            if "@" in delivery.recipient
            else "no e-mail address on file for the submitting officer"
        )
        with transaction.atomic():
            report = Report.objects.select_for_update().get(pk=version.report_id)
            _record_attempt(actor, report, delivery, failure)
    audit_write(AuditAction.UPDATE, actor, request, "report", version.report_id,
                deliveries=[d.pk for d in pending])  # fmt: skip
    return pending
