"""Putting units on incidents and moving them through their per-incident status.

Every function here is one transaction: validate, lock, write, audit, then append the events
(the event log's append is the last write, as it holds a database-wide lock to commit).

Races are designed out by locking in one fixed order — the incident, then the units (by id),
then their assignments — with `select_for_update`, and by the partial unique index
`dispatch_unit_committed_once` (at most one committing assignment per unit) as the last word:
two dispatchers sending the same unit to two incidents serialise on the unit's row, and the
second one is told, with a 409, which incident the unit is committed to. (SQLite serialises
writers at BEGIN, so the same holds there.)

A unit's status lives on each assignment; nothing here ever touches an assignment other than
the one named, except an explicit reassignment (`reassign=True`), which clears the unit's
committing assignment on its other incident and says so on that incident's timeline.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit, eventlog
from despp.core.errors import Conflict
from despp.core.models import AuditAction, User
from despp.core.permissions import Action, require
from despp.dispatch.events import Kind, incident_stream
from despp.dispatch.models import (
    COMMITTED_STATUSES,
    OPEN_INCIDENT_STATUSES,
    Assignment,
    AssignmentStatus,
    Incident,
    IncidentStatus,
    Unit,
)
from despp.dispatch.services._common import MAX_REASON, check_time, clean_text
from despp.dispatch.services.units import unit_data
from despp.dispatch.states import STAMP_FIELD, InvalidTransition, check_transition

S = AssignmentStatus


class Decision:
    """What the dispatcher did with a recommendation (recorded on the incident's timeline)."""

    NONE = "none"  # no recommendation was offered
    ACCEPTED = "accepted"  # exactly the recommended units
    AMENDED = "amended"  # recommended units with some added or some left out
    OVERRIDDEN = "overridden"  # recommended units replaced by others: a reason is required


def decision_for(chosen: Iterable[int], recommended: Iterable[int]) -> str:
    chosen_set, recommended_set = set(chosen), set(recommended)
    if not recommended_set:
        return Decision.NONE
    if chosen_set == recommended_set:
        return Decision.ACCEPTED
    if chosen_set - recommended_set and recommended_set - chosen_set:
        return Decision.OVERRIDDEN
    return Decision.AMENDED


@dataclass(frozen=True)
class _Locked:
    incident: Incident
    units: list[Unit]
    # unit id -> its open assignments (any incident), locked
    open_by_unit: dict[int, list[Assignment]]


def _unit_ids(units: Sequence[Unit], verb: str) -> list[int]:
    unit_ids = [unit.pk for unit in units]
    if not unit_ids:
        raise ValidationError({"units": f"Name at least one unit to {verb}."})
    if len(set(unit_ids)) != len(unit_ids):
        raise ValidationError({"units": "A unit is named twice."})
    return unit_ids


def _refuse_if_out_of_service(unit: Unit) -> None:
    if not unit.in_service:
        why = f" ({unit.out_of_service_reason})" if unit.out_of_service_reason else ""
        raise Conflict(
            f"{unit.call_sign} is out of service{why}; put it back in service first.",
            unit=unit.call_sign,
            current_state="out_of_service",
        )


def _status_label(status: str) -> str:
    return str(S(status).label).lower()


def _where(assignment: Assignment) -> str:
    return f"incident {assignment.incident.display_number}"


def _lock(incident_id: int, unit_ids: Sequence[int]) -> _Locked:
    """Lock the incident, then the units by id, then the units' open assignments."""
    incident = (
        Incident.objects.select_for_update(of=("self",)).select_related("psap").get(pk=incident_id)
    )
    units = list(
        Unit.objects.select_for_update(of=("self",))
        .select_related("agency")
        .filter(pk__in=unit_ids)
        .order_by("pk")
    )
    open_assignments = list(
        Assignment.objects.select_for_update(of=("self",))
        .select_related("incident__psap")
        .filter(unit_id__in=unit_ids)
        .exclude(status=S.CLEARED)
        .order_by("pk")
    )
    by_unit: dict[int, list[Assignment]] = {unit_id: [] for unit_id in unit_ids}
    for assignment in open_assignments:
        by_unit[assignment.unit_id].append(assignment)
    return _Locked(incident, units, by_unit)


def _check_open(incident: Incident) -> None:
    if incident.status not in OPEN_INCIDENT_STATUSES:
        raise Conflict(
            f"Incident {incident.display_number} is {incident.get_status_display().lower()}; "
            "units cannot be sent to it.",
            current_state=incident.status,
        )


def _check_time(at: datetime | None, not_before: datetime | None = None) -> datetime:
    """`at` as reported (aware, not in the future), not before `not_before`; else now."""
    now = timezone.now()
    when = check_time("at", at, now) or now
    if not_before is not None and when < not_before:
        raise ValidationError(
            {"at": f"is before the current status began ({not_before.isoformat()})"}
        )
    return when


def _incident_data(incident: Incident) -> dict[str, Any]:
    return {
        "incident": incident.pk,
        "number": incident.display_number,
        "psap": incident.psap.code,
    }


def _stamp_incident(incident: Incident, status: AssignmentStatus, at: datetime) -> list[str]:
    """The incident's first-unit stamps (NFPA 1710 intervals) and pending -> active."""
    changed = []
    if status in COMMITTED_STATUSES and incident.status == IncidentStatus.PENDING:
        incident.status = IncidentStatus.ACTIVE
        changed.append("status")
    stamp = {
        S.DISPATCHED: "first_notified_at",
        S.EN_ROUTE: "first_en_route_at",
        S.ON_SCENE: "first_on_scene_at",
    }.get(status)
    if stamp and getattr(incident, stamp) is None:
        setattr(incident, stamp, at)
        changed.append(stamp)
    # A unit that goes straight to on scene was notified and en route by then at the latest.
    if status == S.ON_SCENE and incident.first_notified_at is None:
        incident.first_notified_at = at
        changed.append("first_notified_at")
    return changed


def _refuse_if_committed_elsewhere(unit: Unit, here: Incident, others: list[Assignment]) -> None:
    for other in others:
        if other.incident_id != here.pk and other.status in COMMITTED_STATUSES:
            raise Conflict(
                f"{unit.call_sign} is {_status_label(other.status)} at {_where(other)}; "
                "clear it there first, or dispatch it with reassignment.",
                unit=unit.call_sign,
                committed_incident=other.incident_id,
                committed_incident_number=other.incident.display_number,
                current_state=other.status,
            )


def _clear_for_reassignment(assignment: Assignment, to: Incident, at: datetime) -> dict[str, Any]:
    """Clear `assignment` because its unit goes to `to`; returns the event for its incident."""
    previous = assignment.status
    assignment.status = S.CLEARED
    assignment.status_at = at
    assignment.cleared_at = at
    assignment.save(update_fields=["status", "status_at", "cleared_at"])
    return {
        "incident": assignment.incident_id,
        "number": assignment.incident.display_number,
        "assignment": assignment.pk,
        "from": previous,
        "to": S.CLEARED.value,
        "reason": f"reassigned to incident {to.display_number}",
        "reassigned_to": to.pk,
        "psap": assignment.incident.psap.code,
    }


def dispatch_units(
    incident: Incident,
    units: Sequence[Unit],
    user: User,
    *,
    recommended_ids: Iterable[int] = (),
    override_reason: str = "",
    reassign: bool = False,
    at: datetime | None = None,
    request: HttpRequest | None = None,
) -> list[Assignment]:
    """Dispatch `units` to `incident` (one transaction) and return their assignments.

    - A unit out of service, or committed to another incident, is refused with a 409 naming
      the unit and where it is committed — unless `reassign`, which clears it there first.
    - A unit reserved for this (scheduled) incident goes from reserved to dispatched; a unit
      already committed here is a 409. Reservations on other incidents do not matter.
    - `recommended_ids`: the units the recommendation offered. Sending exactly those accepts
      it; adding to or leaving out some amends it; replacing some with others overrides it,
      which needs `override_reason` (logged as a `unit.override` event).
    - Stamps the incident's first unit notified time and makes a pending incident active.
    """
    require(user, Action.INCIDENT_DISPATCH, request=request)
    unit_ids = _unit_ids(units, "dispatch")
    recommended = list(dict.fromkeys(int(pk) for pk in recommended_ids))
    decision = decision_for(unit_ids, recommended)
    reason = clean_text("override_reason", override_reason, MAX_REASON)
    if decision == Decision.OVERRIDDEN and not reason:
        raise ValidationError(
            {
                "override_reason": "Give a reason for sending other units than the ones "
                "recommended (an override is logged)."
            }
        )
    when = _check_time(at)
    try:
        with transaction.atomic():
            return _dispatch_locked(
                incident, unit_ids, user, recommended, decision, reason, reassign, when, request
            )
    except IntegrityError as exc:
        # The unique index caught what the locks should have: report it as the lost race.
        raise Conflict(
            "Another dispatcher committed one of these units at the same moment; "
            "re-read the board and try again.",
        ) from exc


def _dispatch_locked(
    incident: Incident,
    unit_ids: list[int],
    user: User,
    recommended: list[int],
    decision: str,
    reason: str,
    reassign: bool,
    when: datetime,
    request: HttpRequest | None,
) -> list[Assignment]:
    locked = _lock(incident.pk, unit_ids)
    here = locked.incident
    _check_open(here)
    by_id = {unit.pk: unit for unit in locked.units}
    missing = [pk for pk in unit_ids if pk not in by_id]
    if missing:
        raise ValidationError({"units": f"No unit with id {missing[0]}."})
    for unit in locked.units:
        _refuse_if_out_of_service(unit)
        mine = [a for a in locked.open_by_unit[unit.pk] if a.incident_id == here.pk]
        if mine and mine[0].status != S.RESERVED:
            raise Conflict(
                f"{unit.call_sign} is already {_status_label(mine[0].status)} on this incident.",
                unit=unit.call_sign,
                current_state=mine[0].status,
            )
        if not reassign:
            _refuse_if_committed_elsewhere(unit, here, locked.open_by_unit[unit.pk])

    reassigned: list[tuple[Unit, dict[str, Any]]] = []
    assignments: list[Assignment] = []
    recommended_set = set(recommended)
    for pk in unit_ids:
        unit = by_id[pk]
        for other in locked.open_by_unit[pk]:
            if other.incident_id != here.pk and other.status in COMMITTED_STATUSES:
                reassigned.append((unit, _clear_for_reassignment(other, here, when)))
        reserved = next((a for a in locked.open_by_unit[pk] if a.incident_id == here.pk), None)
        if reserved is not None:
            reserved.status = S.DISPATCHED
            reserved.status_at = when
            reserved.dispatched_at = when
            reserved.recommended = pk in recommended_set
            reserved.override_reason = reason if decision == Decision.OVERRIDDEN else ""
            reserved.save(
                update_fields=[
                    "status",
                    "status_at",
                    "dispatched_at",
                    "recommended",
                    "override_reason",
                ]
            )
            assignments.append(reserved)
            continue
        assignments.append(
            Assignment.objects.create(
                unit=unit,
                incident=here,
                status=S.DISPATCHED,
                status_at=when,
                dispatched_at=when,
                assigned_by=user,
                recommended=pk in recommended_set,
                override_reason=reason if decision == Decision.OVERRIDDEN else "",
            )
        )
    changed = _stamp_incident(here, S.DISPATCHED, when)
    if changed:
        here.save(update_fields=changed)
    incident.status, incident.first_notified_at = here.status, here.first_notified_at

    call_signs = [by_id[pk].call_sign for pk in unit_ids]
    audit.record(
        AuditAction.UPDATE,
        request=request,
        user=user,
        object_type="incident",
        object_id=here.pk,
        detail={"dispatched": call_signs, "decision": decision, "reassign": reassign},
    )
    # Events last. Reassignments first, so the other incident's timeline shows the unit leave.
    for unit, data in reassigned:
        eventlog.append(
            incident_stream(data["incident"]),
            Kind.UNIT_STATUS,
            {**unit_data(unit), **data},
            actor=user,
        )
    stream = incident_stream(here.pk)
    if decision != Decision.NONE:
        names = _call_signs(recommended)
        eventlog.append(
            stream,
            Kind.INCIDENT_RECOMMENDED,
            {
                **_incident_data(here),
                "recommended": names,
                "dispatched": call_signs,
                "decision": decision,
            },
            actor=user,
        )
        if decision == Decision.OVERRIDDEN:
            eventlog.append(
                stream,
                Kind.UNIT_OVERRIDE,
                {
                    **_incident_data(here),
                    "reason": reason,
                    "recommended": names,
                    "dispatched": call_signs,
                    "left_out": [
                        n
                        for pk, n in zip(recommended, names, strict=True)
                        if pk not in set(unit_ids)
                    ],
                    "added": [by_id[pk].call_sign for pk in unit_ids if pk not in recommended_set],
                },
                actor=user,
            )
    for assignment in assignments:
        eventlog.append(
            stream,
            Kind.UNIT_ASSIGNED,
            {
                **_incident_data(here),
                **unit_data(by_id[assignment.unit_id]),
                "assignment": assignment.pk,
                "status": S.DISPATCHED.value,
                "recommended": assignment.recommended,
                "at": when.isoformat(),
            },
            actor=user,
        )
    return assignments


def _call_signs(unit_ids: list[int]) -> list[str]:
    names = dict(Unit.objects.filter(pk__in=unit_ids).values_list("pk", "call_sign"))
    return [names.get(pk, f"#{pk}") for pk in unit_ids]


def reserve_units(
    incident: Incident,
    units: Sequence[Unit],
    user: User,
    *,
    request: HttpRequest | None = None,
) -> list[Assignment]:
    """Reserve units for a scheduled incident: they stay available (a reservation commits
    nothing) until dispatched, when the reservation becomes a dispatch."""
    require(user, Action.INCIDENT_DISPATCH, request=request)
    unit_ids = _unit_ids(units, "reserve")
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(incident.pk, unit_ids)
        here = locked.incident
        _check_open(here)
        if here.scheduled_for is None:
            raise Conflict(
                f"Incident {here.display_number} is not scheduled; dispatch units to it "
                "instead of reserving them.",
                current_state=here.status,
            )
        by_id = {unit.pk: unit for unit in locked.units}
        missing = [pk for pk in unit_ids if pk not in by_id]
        if missing:
            raise ValidationError({"units": f"No unit with id {missing[0]}."})
        for unit in locked.units:
            mine = [a for a in locked.open_by_unit[unit.pk] if a.incident_id == here.pk]
            if mine:
                raise Conflict(
                    f"{unit.call_sign} is already {_status_label(mine[0].status)} on this "
                    "incident.",
                    unit=unit.call_sign,
                    current_state=mine[0].status,
                )
        assignments = [
            Assignment.objects.create(
                unit=by_id[pk],
                incident=here,
                status=S.RESERVED,
                status_at=now,
                reserved_at=now,
                assigned_by=user,
            )
            for pk in unit_ids
        ]
        audit.record(
            AuditAction.UPDATE,
            request=request,
            user=user,
            object_type="incident",
            object_id=here.pk,
            detail={"reserved": [by_id[pk].call_sign for pk in unit_ids]},
        )
        for assignment in assignments:
            eventlog.append(
                incident_stream(here.pk),
                Kind.UNIT_ASSIGNED,
                {
                    **_incident_data(here),
                    **unit_data(by_id[assignment.unit_id]),
                    "assignment": assignment.pk,
                    "status": S.RESERVED.value,
                    "scheduled_for": here.scheduled_for.isoformat(),
                },
                actor=user,
            )
    return assignments


def reserve_unit(
    incident: Incident, unit: Unit, user: User, *, request: HttpRequest | None = None
) -> Assignment:
    return reserve_units(incident, [unit], user, request=request)[0]


def change_status(
    assignment: Assignment,
    status: str,
    user: User,
    *,
    at: datetime | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Assignment:
    """Move one assignment to `status` by the transition table (dispatch/states.py).

    Touches this assignment only: the unit's other assignments, and so its status on other
    incidents, cannot change. A transition the table does not allow is a 409 with the
    table's explanation; reserved -> dispatched makes the same checks as a dispatch (in
    service, not committed elsewhere). `at` lets a late report carry the time it happened
    (not before the current status began, not in the future).
    """
    require(user, Action.UNIT_STATUS, request=request)
    try:
        wanted = S(status)
    except ValueError:
        raise ValidationError(
            {"status": f"Unknown status {status!r}; one of: {', '.join(S.values)}."}
        ) from None
    reason = clean_text("reason", reason, MAX_REASON)
    try:
        with transaction.atomic():
            return _change_locked(assignment, wanted, user, at, reason, request)
    except IntegrityError as exc:
        raise Conflict(
            "Another dispatcher committed this unit at the same moment; re-read the board.",
        ) from exc


def _change_locked(
    assignment: Assignment,
    wanted: AssignmentStatus,
    user: User,
    at: datetime | None,
    reason: str,
    request: HttpRequest | None,
) -> Assignment:
    locked = _lock(assignment.incident_id, [assignment.unit_id])
    here, unit = locked.incident, locked.units[0]
    current = Assignment.objects.select_for_update(of=("self",)).get(pk=assignment.pk)
    current.incident, current.unit = here, unit
    try:
        check_transition(unit.call_sign, S(current.status), wanted)
    except InvalidTransition as exc:
        raise Conflict(
            str(exc),
            unit=unit.call_sign,
            current_state=current.status,
            requested_state=wanted.value,
        ) from exc
    when = _check_time(at, not_before=current.status_at)
    if wanted == S.DISPATCHED:  # from reserved: the unit becomes committed now
        _check_open(here)
        _refuse_if_out_of_service(unit)
        _refuse_if_committed_elsewhere(unit, here, locked.open_by_unit[unit.pk])
    previous = current.status
    current.status = wanted
    current.status_at = when
    setattr(current, STAMP_FIELD[wanted], when)
    current.save(update_fields=["status", "status_at", STAMP_FIELD[wanted]])
    changed = _stamp_incident(here, wanted, when)
    if changed:
        here.save(update_fields=changed)
    assignment.status, assignment.status_at = current.status, current.status_at
    setattr(assignment, STAMP_FIELD[wanted], when)
    audit.record(
        AuditAction.UPDATE,
        request=request,
        user=user,
        object_type="assignment",
        object_id=current.pk,
        detail={"unit": unit.call_sign, "from": previous, "to": wanted.value},
    )
    data = {
        **_incident_data(here),
        **unit_data(unit),
        "assignment": current.pk,
        "from": previous,
        "to": wanted.value,
        "at": when.isoformat(),
    }
    if reason:
        data["reason"] = reason
    eventlog.append(incident_stream(here.pk), Kind.UNIT_STATUS, data, actor=user)
    return current


def clear_unit(
    assignment: Assignment,
    user: User,
    *,
    reason: str = "",
    at: datetime | None = None,
    request: HttpRequest | None = None,
) -> Assignment:
    """Clear the unit from this incident (from any open status); it is available again
    unless committed elsewhere, which it cannot be while committed here."""
    return change_status(assignment, S.CLEARED, user, at=at, reason=reason, request=request)
