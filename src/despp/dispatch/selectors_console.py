"""Reads shaped for the dispatcher console: pending calls, active incidents with their timers,
the selected incident, the open emergencies and the map's markers.

Scoping is the floor's own (selectors_units: incidents by PSAP, units by home agency, mutual
aid visible read-only); this module only shapes rows for the screen, each panel in a constant
number of queries whatever the number of rows (tests hold the budgets).

Overdue: an incident is highlighted when it waits too long for its first unit, or its first
unit too long for arrival, by priority (`OVERDUE`, the one table of those thresholds). The
dispatch targets follow NFPA 1221's alarm processing (64 s for 90 % of high-priority calls);
the arrival targets NFPA 1710's travel objectives for the most urgent calls (480 s for an ALS
unit / the full first alarm) and a local policy for the rest.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Min, Prefetch, QuerySet
from django.utils import timezone

from despp.dispatch.models import (
    OPEN_INCIDENT_STATUSES,
    Assignment,
    AssignmentStatus,
    Call,
    CallStatus,
    Incident,
    Priority,
    Unit,
)
from despp.dispatch.selectors import (
    IncidentDetail,
    callback_queue,
    visible_calls,
    visible_incidents,
)
from despp.dispatch.selectors_units import BoardRow, home_agency_ids, unit_board
from despp.dispatch.states import UnitStatus


@dataclass(frozen=True)
class Overdue:
    """Seconds after which an incident is overdue; None: never (e.g. scheduled work)."""

    dispatch_s: int | None  # received -> first unit notified
    arrival_s: int | None  # first unit notified -> first unit on scene


OVERDUE: dict[int, Overdue] = {
    Priority.IMMEDIATE: Overdue(dispatch_s=60, arrival_s=480),
    Priority.URGENT: Overdue(dispatch_s=120, arrival_s=900),
    Priority.PROMPT: Overdue(dispatch_s=300, arrival_s=1800),
    Priority.ROUTINE: Overdue(dispatch_s=900, arrival_s=3600),
    Priority.SCHEDULED: Overdue(dispatch_s=None, arrival_s=None),
}

PENDING_CALL_STATUSES = (CallStatus.RINGING, CallStatus.ANSWERED)
MAX_ROWS = 200


def _elapsed(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))


@dataclass(frozen=True)
class Clock:
    """A running timer: when it started, how long ago, and its overdue threshold."""

    since: datetime
    seconds: int
    limit_s: int | None

    @property
    def overdue(self) -> bool:
        return self.limit_s is not None and self.seconds >= self.limit_s


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    received: Clock  # since received (the first call, else entry in CAD); stops at dispatch
    dispatched: Clock | None  # since the first unit was notified; stops at arrival
    units: list[Assignment]

    @property
    def overdue(self) -> bool:
        return self.received.overdue or bool(self.dispatched and self.dispatched.overdue)


def _incident_row(incident: Incident, now: datetime) -> IncidentRow:
    rule = OVERDUE.get(incident.priority, OVERDUE[Priority.ROUTINE])
    received_at = getattr(incident, "first_received_at", None) or incident.created_at
    waiting = incident.first_notified_at is None
    received = Clock(
        since=received_at,
        seconds=_elapsed(received_at, incident.first_notified_at or now) or 0,
        limit_s=rule.dispatch_s if waiting else None,
    )
    dispatched = None
    if incident.first_notified_at is not None:
        arrived = incident.first_on_scene_at
        dispatched = Clock(
            since=incident.first_notified_at,
            seconds=_elapsed(incident.first_notified_at, arrived or now) or 0,
            limit_s=rule.arrival_s if arrived is None else None,
        )
    return IncidentRow(
        incident=incident,
        received=received,
        dispatched=dispatched,
        units=list(getattr(incident, "open_assignments", [])),
    )


def _open_assignments() -> "Prefetch[Any]":
    return Prefetch(
        "assignments",
        queryset=Assignment.objects.exclude(status=AssignmentStatus.CLEARED)
        .select_related("unit")
        .order_by("id"),
        to_attr="open_assignments",
    )


def _incidents(user: Any) -> QuerySet[Incident]:
    return visible_incidents(user).annotate(first_received_at=Min("calls__received_at"))


def active_incidents(user: Any, *, now: datetime | None = None) -> list[IncidentRow]:
    """Open incidents (pending and active), most urgent first, then oldest first."""
    now = now or timezone.now()
    incidents = (
        _incidents(user)
        .filter(status__in=OPEN_INCIDENT_STATUSES)
        .prefetch_related(_open_assignments())
        .order_by("priority", "created_at")[:MAX_ROWS]
    )
    return [_incident_row(incident, now) for incident in incidents]


def incident_row(user: Any, incident_id: int, *, now: datetime | None = None) -> IncidentRow:
    """One incident the user may see, open or not (Incident.DoesNotExist otherwise)."""
    incident = _incidents(user).prefetch_related(_open_assignments()).get(pk=incident_id)
    return _incident_row(incident, now or timezone.now())


@dataclass(frozen=True)
class CallsPanel:
    pending: list[Call]
    callback_count: int
    callbacks: list[Call]


def calls_panel(user: Any) -> CallsPanel:
    """Calls not yet on an incident (ringing or answered), and the abandoned-call callback
    queue (its count, and its oldest rows)."""
    pending = list(
        visible_calls(user)
        .filter(status__in=PENDING_CALL_STATUSES, incident__isnull=True)
        .order_by("received_at")[:MAX_ROWS]
    )
    queue = callback_queue(user)
    callbacks = list(queue[:20])
    count = len(callbacks) if len(callbacks) < 20 else queue.count()
    return CallsPanel(pending=pending, callback_count=count, callbacks=callbacks)


def open_emergencies(user: Any) -> list[Unit]:
    """Units with an open emergency: every console shows them, whatever its scope (an
    officer in danger is everyone's business until a dispatcher acknowledges)."""
    if home_agency_ids(user) == frozenset():
        return []
    return list(
        Unit.objects.filter(emergency_at__isnull=False)
        .select_related("agency")
        .order_by("emergency_at")
    )


def board(user: Any) -> list[BoardRow]:
    return unit_board(user, scope="home")


@dataclass(frozen=True)
class Marker:
    kind: str  # "incident" or "unit"
    id: int
    label: str
    lat: float
    lon: float
    status: str
    priority: int | None = None
    title: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "label": self.label,
            "lat": self.lat,
            "lon": self.lon,
            "status": self.status,
            "priority": self.priority,
            "title": self.title,
        }


def markers(user: Any, board_rows: list[BoardRow] | None = None) -> list[Marker]:
    """Open incidents and the user's units that have a position, for the map (`board_rows`:
    the unit board when the caller has read it already)."""
    found = [
        Marker(
            "incident",
            incident.pk,
            incident.display_number,
            incident.lat,
            incident.lon,
            incident.status,
            incident.priority,
            f"{incident.display_number} {incident.nature.code} — {incident.location_text}",
        )
        for incident in visible_incidents(user)
        .filter(status__in=OPEN_INCIDENT_STATUSES, lat__isnull=False, lon__isnull=False)
        .order_by("priority")[:MAX_ROWS]
        if incident.lat is not None and incident.lon is not None
    ]
    for row in board(user) if board_rows is None else board_rows:
        unit = row.unit
        if unit.lat is None or unit.lon is None:
            continue
        status = "emergency" if row.emergency else row.status.value
        where = f" on {row.committed.incident_number}" if row.committed else ""
        found.append(
            Marker(
                "unit",
                unit.pk,
                unit.call_sign,
                unit.lat,
                unit.lon,
                status,
                title=f"{unit.call_sign}: {UnitStatus(row.status).label}{where}",
            )
        )
    return found


def unit_by_call_sign(user: Any, call_sign: str) -> Unit | None:
    """A unit the user may see (home or mutual aid), by call sign, case-insensitive."""
    if home_agency_ids(user) == frozenset():
        return None
    return Unit.objects.select_related("agency").filter(call_sign__iexact=call_sign).first()


def incident_by_number(user: Any, number: int, year: int | None) -> list[Incident]:
    """The incidents the user sees with this number (this year when no year is given): one,
    or several when the user sees several PSAPs that issued the same number."""
    full_year = timezone.localdate().year if year is None else 2000 + year
    return list(visible_incidents(user).filter(number=number, year=full_year)[:5])


def row_for_detail(detail: IncidentDetail, *, now: datetime | None = None) -> IncidentRow:
    """The timers of a selected incident, from what its detail already read (no query)."""
    incident = detail.incident
    received = [call.received_at for call in detail.calls]
    incident.first_received_at = min(received) if received else None  # type: ignore[attr-defined]
    incident.open_assignments = [  # type: ignore[attr-defined]
        a for a in detail.assignments if a.status != AssignmentStatus.CLEARED
    ]
    return _incident_row(incident, now or timezone.now())
