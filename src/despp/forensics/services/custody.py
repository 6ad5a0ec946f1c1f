"""Chain of custody: transfers (acknowledged by the receiving person, or witnessed into and
out of storage), splitting an item into sub-items, and disposition (return, retention,
destruction). Every change is an event on the item's stream `item:<id>`.

Who holds an item is the projection `Item.holder` / `Item.location`. Only the holder may pass
it on; an item in storage is in the laboratory's keeping, so lab staff may take it out, but
only witnessed (or into the hands of a person who acknowledges it).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core.errors import Conflict
from despp.core.models import Agency, AuditAction, Event, User
from despp.core.permissions import Action, can
from despp.forensics.events import Kind
from despp.forensics.models import (
    OPEN_STATES,
    Disposition,
    DispositionKind,
    Item,
    ItemStatus,
    ItemType,
    Packaging,
    StorageLocation,
)
from despp.forensics.services._common import (
    allow,
    audit_write,
    clean_text,
    display_name,
    field_error,
    is_lab_staff,
    item_event,
    lock_item,
)
from despp.forensics.services.submissions import refresh_submission_status

MAX_SUB_ITEMS = 50


def _name(user: User | None) -> str:
    return display_name(user) if user is not None else ""


def _path(location: StorageLocation | None) -> str:
    return location.path if location is not None else ""


def _holding(item: Item) -> str:
    if item.holder_id is not None:
        return f"held by {_name(item.holder)}"
    if item.location_id is not None:
        return f"stored at {_path(item.location)}"
    return item.get_status_display().lower()


def _check_movable(item: Item) -> None:
    if item.status != ItemStatus.IN_LAB:
        raise Conflict(
            f"Item {item.item_number} is {item.get_status_display().lower()}; "
            "only an item in laboratory custody can move.",
            current_state=item.status,
        )
    if item.has_pending_transfer:
        waiting = item.pending_witness or item.pending_to
        raise Conflict(
            f"Item {item.item_number} has a transfer waiting for {_name(waiting)} to "
            "acknowledge it; it can move again once that is acknowledged or withdrawn.",
            current_state="transfer_pending",
        )


def _check_custody(actor: User, item: Item) -> None:
    """The actor holds the item, or it is in storage and the actor is laboratory staff."""
    if item.holder_id == actor.pk:
        return
    if item.holder_id is None and item.location_id is not None and is_lab_staff(actor):
        return
    raise Conflict(
        f"You do not hold item {item.item_number} ({_holding(item)}); only its holder can "
        "transfer it.",
        current_holder=item.holder.get_username() if item.holder else None,
    )


def _check_witness(actor: User, witness: User | None, field: str = "witness") -> User:
    if witness is None:
        raise field_error(field, "A transfer into or out of storage needs a witness.")
    if witness.pk == actor.pk:
        raise field_error(field, "The witness must be someone other than you.")
    if not witness.is_active or not is_lab_staff(witness):
        raise field_error(field, f"{witness.get_username()} cannot witness evidence handling.")
    return witness


def _origin(item: Item) -> dict[str, Any]:
    return {
        "from_user": item.holder_id,
        "from_user_name": _name(item.holder),
        "from_location": item.location_id,
        "from_location_path": _path(item.location),
    }


def transfer_item(
    actor: User,
    item: Item,
    *,
    reason: str,
    seal_intact: bool,
    to_user: User | None = None,
    to_location: StorageLocation | None = None,
    witness: User | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> Event:
    """Start a transfer of custody (`custody.transfer_requested`); it completes when
    acknowledged (see `acknowledge_transfer`).

    To a person: that person (another user who may hold evidence) acknowledges. Into storage:
    a witness (another lab user) confirms. Out of storage into one's own hands: a witness too.
    Needs evidence.transfer. 409 when the actor does not hold the item (an item in storage
    counts as held by the laboratory's staff), when a transfer is already waiting, or when
    the item is not in the laboratory; 422 for a missing reason, destination or witness.
    Nothing is written on refusal.
    """
    allow(actor, Action.EVIDENCE_TRANSFER, request)
    reason = clean_text("reason", reason, max_length=300)
    note = clean_text("note", note, max_length=1000, required=False)
    if (to_user is None) == (to_location is None):
        raise field_error("to", "Name either a person or a storage location, not both.")
    if to_location is not None and not to_location.active:
        raise field_error("to_location", f"{to_location.path} is no longer in use.")
    if to_user is not None and (
        not to_user.is_active or not can(to_user, Action.EVIDENCE_TRANSFER)
    ):
        raise field_error("to_user", f"{to_user.get_username()} cannot take custody of evidence.")
    with transaction.atomic():
        item = lock_item(item.pk)
        _check_movable(item)
        _check_custody(actor, item)
        if to_location is not None:
            if to_location.pk == item.location_id:
                raise field_error("to_location", f"Item {item.item_number} is already there.")
            _check_witness(actor, witness)
        elif to_user is not None and to_user.pk == actor.pk:
            if item.holder_id == actor.pk:
                raise field_error("to_user", "You already hold this item.")
            _check_witness(actor, witness)  # taking it out of storage for oneself
        elif witness is not None:
            raise field_error("witness", "A person taking custody acknowledges it themselves.")
        confirmer = witness or to_user  # a witness, or the receiving person
        event = item_event(
            item,
            Kind.TRANSFER_REQUESTED,
            {
                **_origin(item),
                "requested_by": actor.pk,
                "to_user": to_user.pk if to_user else None,
                "to_user_name": _name(to_user),
                "to_location": to_location.pk if to_location else None,
                "to_location_path": _path(to_location),
                "witness": witness.pk if witness else None,
                "witness_name": _name(witness),
                "awaits": confirmer.pk if confirmer else None,
                "awaits_name": _name(confirmer),
                "reason": reason,
                "seal_intact": seal_intact,
                "note": note,
            },
            actor,
        )
        audit_write(AuditAction.UPDATE, actor, request, "item", item.pk, transfer=event.position)
    return event


def acknowledge_transfer(
    actor: User,
    item: Item,
    *,
    seal_intact: bool | None = None,
    note: str = "",
    request: HttpRequest | None = None,
) -> Event:
    """The person receiving the item (or the witness of a storage move) confirms it: custody
    passes (`custody.transferred`). `seal_intact` is what the acknowledger sees (default: as
    the sender said). 409 when no transfer waits, or it waits for someone else."""
    allow(actor, Action.EVIDENCE_VIEW, request)
    note = clean_text("note", note, max_length=1000, required=False)
    with transaction.atomic():
        item = lock_item(item.pk)
        if not item.has_pending_transfer:
            raise Conflict(f"No transfer of item {item.item_number} is waiting.")
        awaited = item.pending_witness_id or item.pending_to_id
        if awaited != actor.pk:
            waiting = item.pending_witness or item.pending_to
            raise Conflict(
                f"This transfer of item {item.item_number} waits for {_name(waiting)} to "
                "acknowledge it, not you."
            )
        started = _pending_request(item)
        event = item_event(
            item,
            Kind.TRANSFERRED,
            {
                **_origin(item),
                "to_user": item.pending_to_id,
                "to_user_name": _name(item.pending_to),
                "to_location": item.pending_location_id,
                "to_location_path": _path(item.pending_location),
                "witness": item.pending_witness_id,
                "witness_name": _name(item.pending_witness),
                "acknowledged_by": actor.pk,
                "reason": started.data.get("reason", ""),
                "requested_at_position": started.position,
                "seal_intact": started.data["seal_intact"] if seal_intact is None else seal_intact,
                "note": note,
            },
            actor,
        )
        audit_write(AuditAction.UPDATE, actor, request, "item", item.pk, acknowledged=True)
    return event


def _pending_request(item: Item) -> Event:
    return (
        Event.objects.filter(stream=item.stream, kind=Kind.TRANSFER_REQUESTED)
        .order_by("-position")
        .first()
    ) or Event(data={"seal_intact": item.seal_intact, "reason": ""}, position=0)


def withdraw_transfer(
    actor: User, item: Item, *, reason: str, request: HttpRequest | None = None
) -> Event:
    """The sender withdraws a waiting transfer, or the awaited person declines it; the item
    stays where it was (`custody.transfer_withdrawn`). 409 for anyone else."""
    allow(actor, Action.EVIDENCE_VIEW, request)
    reason = clean_text("reason", reason, max_length=300)
    with transaction.atomic():
        item = lock_item(item.pk)
        if not item.has_pending_transfer:
            raise Conflict(f"No transfer of item {item.item_number} is waiting.")
        awaited = item.pending_witness_id or item.pending_to_id
        if actor.pk not in {item.pending_from_id, awaited}:
            raise Conflict("Only the sender or the awaited person can withdraw this transfer.")
        event = item_event(
            item,
            Kind.TRANSFER_WITHDRAWN,
            {
                "reason": reason,
                "declined": actor.pk == awaited and actor.pk != item.pending_from_id,
            },
            actor,
        )
        audit_write(AuditAction.UPDATE, actor, request, "item", item.pk, withdrawn=True)
    return event


@dataclass(frozen=True)
class SubItemSpec:
    description: str
    item_type: str = ItemType.BIOLOGICAL
    packaging: str = Packaging.ENVELOPE
    seal_number: str = ""
    quantity: int = 1


def split_item(
    actor: User,
    item: Item,
    parts: Sequence[SubItemSpec],
    *,
    reason: str,
    request: HttpRequest | None = None,
) -> list[Item]:
    """Cut sub-items from an item the actor holds (a swab from a shirt). Both histories stay
    intact and linked: the parent's stream gets `item.split` naming every child; each child's
    stream starts with `item.created_from` naming the parent and the hash of that split event
    (the parent's head when the child was made). The children start in the actor's hands and
    join the parent's lab requests. Needs evidence.transfer; 409 unless the actor holds it."""
    allow(actor, Action.EVIDENCE_TRANSFER, request)
    reason = clean_text("reason", reason, max_length=300)
    if not parts:
        raise field_error("parts", "Describe at least one sub-item.")
    if len(parts) > MAX_SUB_ITEMS:
        raise field_error("parts", f"At most {MAX_SUB_ITEMS} sub-items at once.")
    for index, part in enumerate(parts):
        clean_text(f"parts.{index}.description", part.description, max_length=300)
        if part.item_type not in ItemType.values:
            raise field_error(f"parts.{index}.item_type", f"Unknown type {part.item_type!r}.")
        if part.packaging not in Packaging.values:
            raise field_error(f"parts.{index}.packaging", f"Unknown packaging {part.packaging!r}.")
        if not 1 <= part.quantity <= 100_000:
            raise field_error(f"parts.{index}.quantity", "Quantity must be 1 to 100000.")
    with transaction.atomic():
        item = lock_item(item.pk)
        _check_movable(item)
        if item.holder_id != actor.pk:
            raise Conflict(
                f"You do not hold item {item.item_number} ({_holding(item)}); only its holder "
                "can split it."
            )
        lab_number = item.submission.lab_number
        taken = set(item.sub_items.values_list("item_number", flat=True))
        numbers: list[str] = []
        counter = 0
        while len(numbers) < len(parts):
            counter += 1
            if f"{item.item_number}.{counter}" not in taken:
                numbers.append(f"{item.item_number}.{counter}")
        children = [
            Item.objects.create(
                submission=item.submission,
                parent=item,
                item_number=number,
                description=part.description.strip(),
                item_type=part.item_type,
                packaging=part.packaging,
                seal_number=part.seal_number.strip(),
                quantity=part.quantity,
                barcode=f"{lab_number}-{number}",
            )
            for number, part in zip(numbers, parts, strict=True)
        ]
        for lab_request in item.requests.all():
            lab_request.items.add(*children)
        split = item_event(
            item,
            Kind.ITEM_SPLIT,
            {
                "reason": reason,
                "children": [
                    {
                        "item": c.pk,
                        "item_number": c.item_number,
                        "barcode": c.barcode,
                        "description": c.description,
                    }
                    for c in children
                ],
            },
            actor,
        )
        for child in children:
            item_event(
                child,
                Kind.ITEM_CREATED_FROM,
                {
                    "parent": item.pk,
                    "parent_stream": item.stream,
                    "parent_barcode": item.barcode,
                    "parent_position": split.position,
                    "parent_head_hash": split.hash,
                    "reason": reason,
                    "item_number": child.item_number,
                    "barcode": child.barcode,
                    "description": child.description,
                    "item_type": child.item_type,
                    "packaging": child.packaging,
                    "seal_number": child.seal_number,
                    "quantity": child.quantity,
                    "holder": actor.pk,
                    "holder_name": _name(actor),
                    "location": None,
                    "seal_intact": None,
                },
                actor,
            )
        audit_write(
            AuditAction.CREATE, actor, request, "item", item.pk,
            split_into=[child.pk for child in children],
        )  # fmt: skip
    return children


def dispose_item(
    actor: User,
    item: Item,
    *,
    kind: str,
    reason: str,
    recipient_name: str = "",
    recipient_agency: Agency | None = None,
    recipient_id_number: str = "",
    witness: User | None = None,
    retain_until: date | None = None,
    request: HttpRequest | None = None,
) -> Disposition:
    """Record what becomes of an item after the work (`item.disposed`).

    Returned: to a named person of a named agency (nothing leaves without a recorded
    recipient). Destroyed: before a witness. Retained: the item must already be in storage;
    optionally until a date. Needs evidence.intake; the actor must hold the item, or it is in
    storage. 409 while a lab request on the item is still open, or the item is not in the
    laboratory."""
    allow(actor, Action.EVIDENCE_INTAKE, request)
    if kind not in DispositionKind.values:
        raise field_error("kind", f"Unknown disposition {kind!r}.")
    reason = clean_text("reason", reason, max_length=300)
    recipient_name = clean_text(
        "recipient_name", recipient_name, max_length=120, required=kind == DispositionKind.RETURNED
    )
    recipient_id_number = clean_text(
        "recipient_id_number", recipient_id_number, max_length=40, required=False
    )
    if kind == DispositionKind.RETURNED and recipient_agency is None:
        raise field_error("recipient_agency", "Name the agency the item is returned to.")
    if kind == DispositionKind.DESTROYED:
        _check_witness(actor, witness)
    if retain_until is not None and retain_until <= timezone.localdate():
        raise field_error("retain_until", "The retention date must be in the future.")
    with transaction.atomic():
        item = lock_item(item.pk)
        _check_movable(item)
        _check_custody(actor, item)
        if kind == DispositionKind.RETAINED and item.location_id is None:
            raise Conflict(
                f"Item {item.item_number} is {_holding(item)}; put it into storage first, "
                "then record its retention."
            )
        if kind != DispositionKind.RETAINED:
            open_requests = item.requests.filter(state__in=OPEN_STATES)
            if open_requests.exists():
                raise Conflict(
                    f"Item {item.item_number} is still needed by "
                    f"{open_requests.count()} open examination request(s)."
                )
        location = item.location
        event = item_event(
            item,
            Kind.ITEM_DISPOSED,
            {
                **_origin(item),
                "disposition": kind,
                "reason": reason,
                "recipient_name": recipient_name,
                "recipient_agency": recipient_agency.pk if recipient_agency else None,
                "recipient_agency_name": recipient_agency.name if recipient_agency else "",
                "recipient_id_number": recipient_id_number,
                "witness": witness.pk if witness else None,
                "witness_name": _name(witness),
                "retain_until": retain_until.isoformat() if retain_until else None,
            },
            actor,
        )
        disposition = Disposition.objects.create(
            item=item,
            kind=kind,
            recipient_name=recipient_name,
            recipient_agency=recipient_agency,
            recipient_id_number=recipient_id_number,
            witness=witness,
            location=location if kind == DispositionKind.RETAINED else None,
            retain_until=retain_until,
            reason=reason,
            decided_by=actor,
            at=event.at,
            event=event,
        )
        refresh_submission_status(item.submission)
        audit_write(AuditAction.UPDATE, actor, request, "item", item.pk, disposition=kind)
    return disposition
