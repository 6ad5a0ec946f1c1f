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
from django.db import connection
from django.db.models import Field
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
    """`item_event` for many items at once (intake of a large submission appends hundreds of
    events): the projections are written by one prepared UPDATE executed per row, which is
    many times quicker than Django's bulk_update (a CASE per column and row)."""
    for item, kind, data in batch:
        apply_item_event(item, eventlog.append(item.stream, kind, data, actor=actor))
    fields = [_concrete(name) for name in update_fields(ITEM_FIELDS)]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    sql = f"UPDATE {connection.ops.quote_name(Item._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608 - column names from the model, values as parameters
    rows = [
        [f.get_db_prep_save(getattr(item, f.attname), connection) for f in fields] + [item.pk]
        for item, _, _ in batch
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _concrete(name: str) -> "Field[Any, Any]":
    field = Item._meta.get_field(name)
    if not isinstance(field, Field):  # the projection columns are all concrete fields
        raise TypeError(f"Item.{name} is not a column")
    return field


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
