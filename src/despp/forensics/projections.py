"""Projections: the columns of items, lab requests and reports that are derived from events.

Each `apply_*` function is the one reducer for its stream: services call it on the event they
have just appended, and `replay_*` folds a stream's whole history through the same function.
So a projection can always be rebuilt from the events (`rebuild_*`), and `despp verify-custody`
can show that the stored columns still agree with the chain (`*_differences`).

The reducers read only the event (kind, data, at, actor); they never query, so a replay is a
single read of the stream.
"""

from collections.abc import Iterable
from typing import Any

from despp.core.models import Event
from despp.forensics.events import Kind
from despp.forensics.models import (
    DispositionKind,
    Item,
    ItemStatus,
    LabRequest,
    LabRequestState,
    Report,
    ReviewOutcome,
)
from despp.forensics.workflow import Step, next_state

ITEM_FIELDS = (
    "status",
    "holder_id",
    "location_id",
    "seal_intact",
    "received_at",
    "discrepancy",
    "pending_from_id",
    "pending_to_id",
    "pending_location_id",
    "pending_witness_id",
    "head_position",
)
REQUEST_FIELDS = (
    "state",
    "analyst_id",
    "assigned_at",
    "started_at",
    "completed_at",
    "technical_reviewer_id",
    "administrative_reviewer_id",
    "released_at",
    "amendment_reason",
    "head_position",
)
REPORT_FIELDS = ("current_version", "head_position")


def update_fields(fields: tuple[str, ...]) -> list[str]:
    """Model field names for `save(update_fields=...)` (FK columns by their field name)."""
    return [name.removesuffix("_id") for name in fields]


# --- items ------------------------------------------------------------------------------------


def _clear_pending(item: Item) -> None:
    item.pending_from_id = None
    item.pending_to_id = None
    item.pending_location_id = None
    item.pending_witness_id = None


# A disposition after which the item is no longer in the laboratory (retention keeps it).
_LEAVING = {
    DispositionKind.RETURNED.value: ItemStatus.RETURNED,
    DispositionKind.DESTROYED.value: ItemStatus.DESTROYED,
}


def apply_item_event(item: Item, event: Event) -> None:
    data: dict[str, Any] = event.data
    kind = event.kind
    if kind == Kind.ITEM_SUBMITTED:
        item.status = ItemStatus.SUBMITTED
        item.holder_id = item.location_id = None
        _clear_pending(item)
    elif kind == Kind.ITEM_RECEIVED:
        item.status = ItemStatus.IN_LAB
        item.holder_id = data["holder"]
        item.location_id = None
        item.seal_intact = data["seal_intact"]
        item.received_at = event.at
        item.discrepancy = data.get("discrepancy", "")
    elif kind == Kind.ITEM_NOT_RECEIVED:
        item.status = ItemStatus.NOT_RECEIVED
        item.discrepancy = data.get("discrepancy", "")
    elif kind == Kind.TRANSFER_REQUESTED:
        item.pending_from_id = data.get("requested_by")
        item.pending_to_id = data.get("to_user")
        item.pending_location_id = data.get("to_location")
        item.pending_witness_id = data.get("witness")
    elif kind == Kind.TRANSFERRED:
        item.holder_id = data.get("to_user")
        item.location_id = data.get("to_location")
        item.seal_intact = data["seal_intact"]
        _clear_pending(item)
    elif kind == Kind.TRANSFER_WITHDRAWN:
        _clear_pending(item)
    elif kind == Kind.ITEM_CREATED_FROM:
        item.status = ItemStatus.IN_LAB
        item.holder_id = data.get("holder")
        item.location_id = data.get("location")
        item.seal_intact = data.get("seal_intact")
        item.received_at = event.at
        _clear_pending(item)
    elif kind == Kind.ITEM_DISPOSED and data["disposition"] in _LEAVING:
        item.status = _LEAVING[data["disposition"]]
        item.holder_id = item.location_id = None
        _clear_pending(item)
    # ITEM_SPLIT changes nothing on the parent: it stays where it is, with what is left of it.
    item.head_position = event.position


def replay_item(events: Iterable[Event]) -> Item:
    """An unsaved item carrying only the projection folded from `events`."""
    fresh = Item(status=ItemStatus.SUBMITTED, discrepancy="")
    for event in events:
        apply_item_event(fresh, event)
    return fresh


def _differences(stored: Any, replayed: Any, fields: tuple[str, ...]) -> list[str]:
    return [
        f"{name} is {getattr(stored, name)!r} but the events say {getattr(replayed, name)!r}"
        for name in fields
        if getattr(stored, name) != getattr(replayed, name)
    ]


def item_differences(item: Item, events: Iterable[Event]) -> list[str]:
    return _differences(item, replay_item(events), ITEM_FIELDS)


# --- lab requests -----------------------------------------------------------------------------


def apply_request_event(lab_request: LabRequest, event: Event) -> None:
    data: dict[str, Any] = event.data
    step = data.get("step")
    if event.kind == Kind.REQUEST_CREATED:
        lab_request.state = LabRequestState.REQUESTED
    elif step is not None:
        lab_request.state = next_state(lab_request.state, Step(step))
    kind = event.kind
    if kind == Kind.REQUEST_ASSIGNED:
        lab_request.analyst_id = data["analyst"]
        lab_request.assigned_at = event.at
    elif kind == Kind.REQUEST_STARTED:
        lab_request.started_at = lab_request.started_at or event.at
    elif kind == Kind.REQUEST_COMPLETED:
        lab_request.completed_at = event.at
        lab_request.technical_reviewer_id = None
        lab_request.administrative_reviewer_id = None
    elif kind == Kind.REVIEW_TECHNICAL and data["outcome"] == ReviewOutcome.APPROVED:
        lab_request.technical_reviewer_id = event.actor_id
    elif kind == Kind.REVIEW_ADMINISTRATIVE and data["outcome"] == ReviewOutcome.APPROVED:
        lab_request.administrative_reviewer_id = event.actor_id
    elif kind == Kind.REQUEST_RELEASED:
        lab_request.released_at = lab_request.released_at or event.at
        lab_request.amendment_reason = ""
    elif kind == Kind.AMENDMENT_OPENED:
        lab_request.amendment_reason = data["reason"]
        lab_request.technical_reviewer_id = None
        lab_request.administrative_reviewer_id = None
    lab_request.head_position = event.position


def replay_request(events: Iterable[Event]) -> LabRequest:
    fresh = LabRequest(state=LabRequestState.REQUESTED, amendment_reason="")
    for event in events:
        apply_request_event(fresh, event)
    return fresh


def request_differences(lab_request: LabRequest, events: Iterable[Event]) -> list[str]:
    return _differences(lab_request, replay_request(events), REQUEST_FIELDS)


# --- reports ----------------------------------------------------------------------------------


def apply_report_event(report: Report, event: Event) -> None:
    if event.kind == Kind.REPORT_RELEASED:
        report.current_version = event.data["version"]
    report.head_position = event.position


def replay_report(events: Iterable[Event]) -> Report:
    fresh = Report(current_version=0)
    for event in events:
        apply_report_event(fresh, event)
    return fresh


def report_differences(report: Report, events: Iterable[Event]) -> list[str]:
    return _differences(report, replay_report(events), REPORT_FIELDS)
