"""What every laboratory service shares: permission checks, row locks, recording an event
together with its projection, and the access-audit entry of a write.

Refusals, by kind (each leaves the database as it was):
- `PermissionDenied` (403): the caller's roles do not allow the action (audited as denied);
- `Http404`: the record is outside what the caller may see (selectors decide);
- `Conflict` (409): the record's state or custody does not allow it (a transfer by someone who
  does not hold the item, a review by the analyst, a release without both reviews, a lost race);
- `ValidationError` (422): a field is missing or invalid; the message names the field.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest

from despp.core import audit, eventlog
from despp.core.models import AuditAction, Event, User
from despp.core.permissions import Action, can, require
from despp.forensics.models import Item, LabRequest, Report, SectionMembership
from despp.forensics.projections import (
    ITEM_FIELDS,
    REPORT_FIELDS,
    REQUEST_FIELDS,
    apply_item_event,
    apply_report_event,
    apply_request_event,
    update_fields,
)

LAB_ACTIONS = (Action.EVIDENCE_INTAKE, Action.EVIDENCE_TRANSFER, Action.LAB_ANALYZE,
               Action.LAB_REVIEW, Action.LAB_RELEASE)  # fmt: skip


def allow(actor: User, action: Action, request: HttpRequest | None) -> None:
    """403 (audited) unless the actor's roles grant `action`."""
    require(actor, action, request=request)


def is_lab_staff(user: User) -> bool:
    return any(can(user, action) for action in LAB_ACTIONS)


def in_section(user: User, section_id: int) -> bool:
    return SectionMembership.objects.filter(user=user, section_id=section_id).exists()


def field_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def user_ref(user: User | None) -> dict[str, Any]:
    """How events name a person: the id for projections, the name for people reading it."""
    if user is None:
        return {"id": None, "username": "", "name": ""}
    return {"id": user.pk, "username": user.get_username(), "name": display_name(user)}


def display_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def clean_text(field: str, value: str | None, *, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise field_error(field, "This field is required.")
    if len(text) > max_length:
        raise field_error(field, f"At most {max_length} characters (this has {len(text)}).")
    return text


def lock_item(item_id: int) -> Item:
    return Item.objects.select_for_update().select_related("submission").get(pk=item_id)


def lock_request(request_id: int) -> LabRequest:
    return LabRequest.objects.select_for_update().select_related("submission").get(pk=request_id)


def item_event(item: Item, kind: str, data: dict[str, Any], actor: User | None) -> Event:
    """Append to the item's custody stream and apply the event to its projection."""
    event = eventlog.append(item.stream, kind, data, actor=actor)
    apply_item_event(item, event)
    item.save(update_fields=update_fields(ITEM_FIELDS))
    return event


def item_events(batch: list[tuple[Item, str, dict[str, Any]]], actor: User | None) -> None:
    """`item_event` for many items at once: the projections are written in one bulk update
    (intake of a large submission appends hundreds of events)."""
    for item, kind, data in batch:
        apply_item_event(item, eventlog.append(item.stream, kind, data, actor=actor))
    Item.objects.bulk_update([item for item, _, _ in batch], update_fields(ITEM_FIELDS))


def request_event(
    lab_request: LabRequest, kind: str, data: dict[str, Any], actor: User | None
) -> Event:
    event = eventlog.append(lab_request.stream, kind, data, actor=actor)
    apply_request_event(lab_request, event)
    lab_request.save(update_fields=update_fields(REQUEST_FIELDS))
    return event


def report_event(report: Report, kind: str, data: dict[str, Any], actor: User | None) -> Event:
    event = eventlog.append(report.stream, kind, data, actor=actor)
    apply_report_event(report, event)
    report.save(update_fields=update_fields(REPORT_FIELDS))
    return event


def audit_write(
    action: AuditAction,
    actor: User,
    request: HttpRequest | None,
    object_type: str,
    object_id: object,
    **detail: Any,
) -> None:
    audit.record(
        action,
        request=request,
        user=actor,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
