"""What a unit is by itself: in or out of service, where it is (AVL), an open emergency.

Each function is one transaction (validate, lock the unit row, write, audit, then append the
event on the unit's stream `unit:<id>` as the last write). What a unit does on incidents is in
services/assignments.py.
"""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit, eventlog
from despp.core.errors import Conflict
from despp.core.jurisdiction.index import InvalidCoordinateError, check_coordinates
from despp.core.models import AuditAction, User
from despp.core.permissions import Action, require
from despp.dispatch.events import Kind, unit_stream
from despp.dispatch.models import COMMITTED_STATUSES, Assignment, Unit
from despp.dispatch.services._common import MAX_REASON, check_time, clean_text


def unit_data(unit: Unit) -> dict[str, Any]:
    """What every unit event names (a feed scopes events by these without a query)."""
    return {
        "unit": unit.pk,
        "call_sign": unit.call_sign,
        "unit_kind": unit.kind,
        "agency": unit.agency.code,
    }


def _locked(unit: Unit) -> Unit:
    return Unit.objects.select_for_update(of=("self",)).select_related("agency").get(pk=unit.pk)


def _committed(unit: Unit) -> Assignment | None:
    return (
        Assignment.objects.select_related("incident__psap")
        .filter(unit=unit, status__in=COMMITTED_STATUSES)
        .first()
    )


def _refresh(target: Unit, source: Unit, fields: list[str]) -> None:
    for name in fields:
        setattr(target, name, getattr(source, name))


def set_in_service(
    unit: Unit,
    in_service: bool,
    user: User,
    *,
    reason: str = "",
    force: bool = False,
    request: HttpRequest | None = None,
) -> Unit:
    """Put a unit in or out of service. Out of service needs a reason, and is refused while
    the unit is committed to an incident unless `force` (e.g. the ambulance broke down on
    scene): the unit then shows out of service, stays on that incident until cleared there,
    and is never recommended. Asking for the state the unit is already in changes nothing."""
    require(user, Action.UNIT_STATUS, request=request)
    reason = clean_text("reason", reason, MAX_REASON)
    if not in_service and not reason:
        raise ValidationError({"reason": "is required to put a unit out of service"})
    with transaction.atomic():
        locked = _locked(unit)
        if locked.in_service == in_service:
            _refresh(unit, locked, ["in_service", "out_of_service_reason"])
            return locked
        committed = _committed(locked) if not in_service else None
        if committed is not None and not force:
            raise Conflict(
                f"{locked.call_sign} is {committed.get_status_display().lower()} at incident "
                f"{committed.incident.display_number}; clear it there first, or force it out "
                "of service with a reason.",
                unit=locked.call_sign,
                committed_incident=committed.incident_id,
                current_state=committed.status,
            )
        locked.in_service = in_service
        locked.out_of_service_reason = "" if in_service else reason
        locked.save(update_fields=["in_service", "out_of_service_reason"])
        _refresh(unit, locked, ["in_service", "out_of_service_reason"])
        audit.record(
            AuditAction.UPDATE,
            request=request,
            user=user,
            object_type="unit",
            object_id=locked.pk,
            detail={"in_service": in_service, "reason": reason, "forced": committed is not None},
        )
        data = {**unit_data(locked), "in_service": in_service, "reason": reason}
        if committed is not None:
            data["forced"] = True
            data["committed_incident"] = committed.incident_id
            data["psap"] = committed.incident.psap.code
        eventlog.append(unit_stream(locked.pk), Kind.UNIT_SERVICE, data, actor=user)
    return locked


def report_position(
    unit: Unit,
    lat: object,
    lon: object,
    user: User,
    *,
    at: datetime | None = None,
    request: HttpRequest | None = None,
) -> bool:
    """Record an AVL fix. Cheap: one conditional UPDATE, one audit row, one event.

    A fix older than the one stored (delivered out of order) is ignored and False returned;
    the stored position only moves forward in time. Latitude and longitude are checked like
    every coordinate in the platform (finite, in range); the error names the field.
    """
    require(user, Action.UNIT_STATUS, request=request)
    try:
        lat_f, lon_f = check_coordinates(lat, lon)
    except InvalidCoordinateError as exc:
        raise ValidationError({exc.field: exc.message}) from None
    now = timezone.now()
    at = check_time("at", at, now) or now
    with transaction.atomic():
        moved = (
            Unit.objects.filter(pk=unit.pk)
            .filter(Q(position_at__isnull=True) | Q(position_at__lte=at))
            .update(lat=lat_f, lon=lon_f, position_at=at)
        )
        if not moved:
            return False
        unit.lat, unit.lon, unit.position_at = lat_f, lon_f, at
        audit.record(
            AuditAction.UPDATE,
            request=request,
            user=user,
            object_type="unit",
            object_id=unit.pk,
            detail={"position": [lat_f, lon_f]},
        )
        eventlog.append(
            unit_stream(unit.pk),
            Kind.UNIT_POSITION,
            {**unit_data(unit), "lat": lat_f, "lon": lon_f, "at": at.isoformat()},
            actor=user,
        )
    return True


def raise_emergency(
    unit: Unit, user: User, *, request: HttpRequest | None = None
) -> tuple[Unit, bool]:
    """The emergency (panic) button, pressed by the unit or by a dispatcher for it.

    The `unit.emergency` event carries `"alert": "emergency"`: every console alerts on it,
    whatever its scope, until a dispatcher acknowledges. Pressing again while it is open adds
    nothing (the alert is still sounding). Returns (unit, whether this press raised it).
    """
    require(user, Action.UNIT_STATUS, request=request)
    with transaction.atomic():
        locked = _locked(unit)
        if locked.emergency_at is not None:
            unit.emergency_at = locked.emergency_at
            return locked, False
        now = timezone.now()
        locked.emergency_at = now
        locked.save(update_fields=["emergency_at"])
        unit.emergency_at = now
        committed = _committed(locked)
        audit.record(
            AuditAction.UPDATE,
            request=request,
            user=user,
            object_type="unit",
            object_id=locked.pk,
            detail={"emergency": "raised"},
        )
        data: dict[str, Any] = {
            **unit_data(locked),
            "alert": "emergency",
            "lat": locked.lat,
            "lon": locked.lon,
            "at": now.isoformat(),
        }
        if committed is not None:
            data["incident"] = committed.incident_id
            data["number"] = committed.incident.display_number
            data["psap"] = committed.incident.psap.code
        eventlog.append(unit_stream(locked.pk), Kind.UNIT_EMERGENCY, data, actor=user)
    return locked, True


def acknowledge_emergency(unit: Unit, user: User, *, request: HttpRequest | None = None) -> Unit:
    """A dispatcher acknowledges the unit's open emergency (409 when none is open)."""
    require(user, Action.INCIDENT_DISPATCH, request=request)
    with transaction.atomic():
        locked = _locked(unit)
        raised = locked.emergency_at
        if raised is None:
            raise Conflict(
                f"{locked.call_sign} has no open emergency to acknowledge.",
                unit=locked.call_sign,
            )
        now = timezone.now()
        locked.emergency_at = None
        locked.save(update_fields=["emergency_at"])
        unit.emergency_at = None
        audit.record(
            AuditAction.UPDATE,
            request=request,
            user=user,
            object_type="unit",
            object_id=locked.pk,
            detail={"emergency": "acknowledged"},
        )
        eventlog.append(
            unit_stream(locked.pk),
            Kind.UNIT_EMERGENCY_ACK,
            {
                **unit_data(locked),
                "raised_at": raised.isoformat(),
                "acknowledged_after_s": round((now - raised).total_seconds(), 1),
            },
            actor=user,
        )
    return locked
