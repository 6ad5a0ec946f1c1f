"""Reads about units: who may see which unit, the unit status board, one unit, one assignment.

Unit scoping (decided here, used by the API and the console):

- A user with `statewide.view` sees and manages every unit.
- Otherwise a user's *home units* are those of the agencies the user's agency covers
  (`core.scoping.visible_agency_ids`: the agency and those under it) plus, when that includes a
  PSAP, the agencies the PSAP dispatches: the police agency of every town the PSAP answers for,
  the troops whose dispatch center it is, and the fire departments and EMS agencies based in
  those towns. Home units are on the dispatcher's board and the dispatcher changes their
  service, position and emergency state.
- Every other unit is *mutual aid*: shown read-only on the board when asked for
  (`scope="all"`), recommended when the home agencies cannot fill a plan line, and assignable
  to the dispatcher's own incidents (that is the mutual aid request); its service state and
  position belong to its home PSAP.
- An assignment (unit x incident) is visible to whoever sees its incident (the incident's PSAP,
  as the calls selectors scope incidents) or its unit (so a trooper updates the status of
  their own car on a call another PSAP created).

An object outside these sets is reported as missing (404), never forbidden.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from despp.core.models import Agency, AgencyKind
from despp.core.scoping import visible_agency_ids
from despp.dispatch.models import (
    COMMITTED_STATUSES,
    Assignment,
    AssignmentStatus,
    StatusThreshold,
    Unit,
    UnitKind,
)
from despp.dispatch.states import UnitStatus, derive_unit_status

_HOME_CACHE = "_despp_home_unit_agencies"


def home_agency_ids(user: Any) -> frozenset[int] | None:
    """Agencies whose units are the user's home units; None means every agency.

    One query (over the small agency and town tables), cached on the user object.
    """
    visible = visible_agency_ids(user)
    if visible is None or not visible:
        return visible
    cached: frozenset[int] | None = getattr(user, _HOME_CACHE, None)
    if cached is None:
        dispatched = (
            Agency.objects.filter(
                Q(policed_towns__psap_id__in=visible)
                | Q(
                    kind__in=[AgencyKind.FIRE_DEPARTMENT, AgencyKind.EMS],
                    town__psap_id__in=visible,
                )
                | Q(troop__dispatch_center_id__in=visible)
            )
            .values_list("pk", flat=True)
            .distinct()
        )
        cached = visible | frozenset(dispatched)
        setattr(user, _HOME_CACHE, cached)
    return cached


def home_units(user: Any) -> QuerySet[Unit]:
    home = home_agency_ids(user)
    if home is None:
        return Unit.objects.all()
    return Unit.objects.filter(agency_id__in=home)


def may_see_units(user: Any) -> bool:
    """Whether the user sees units at all: every unit is visible (home or mutual aid) to a
    user with an agency; an agency-less user sees none."""
    home = home_agency_ids(user)
    return home is None or bool(home)


def unit_for(user: Any, unit_id: int, *, home_only: bool = False) -> Unit:
    """One unit the user may see; with `home_only`, one of the user's home units."""
    if home_only:
        queryset = home_units(user)
    elif may_see_units(user):
        queryset = Unit.objects.all()
    else:
        queryset = Unit.objects.none()
    found = queryset.select_related("agency", "home_station").filter(pk=unit_id).first()
    if found is None:
        raise Http404("No unit matches the given query.")
    return found


def assignment_for(user: Any, assignment_id: int) -> Assignment:
    """An assignment whose incident or unit the user sees (see the module docstring)."""
    visible = visible_agency_ids(user)
    queryset = Assignment.objects.select_related("unit", "incident", "incident__psap")
    if visible is not None:
        home = home_agency_ids(user) or frozenset()
        queryset = queryset.filter(
            Q(incident__psap_id__in=visible)
            | Q(incident__police_agency_id__in=visible)
            | Q(unit__agency_id__in=home)
        )
    found = queryset.filter(pk=assignment_id).first()
    if found is None:
        raise Http404("No assignment matches the given query.")
    return found


# --- the status board -------------------------------------------------------------------------


@dataclass(frozen=True)
class Timer:
    """How long an assignment has been in its status and whether that is too long."""

    seconds: int
    warn: bool
    alarm: bool
    label: str  # what the threshold asks for ("welfare check"), empty when none applies
    warn_after_s: int | None
    alarm_after_s: int | None


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    incident_id: int
    incident_number: str
    status: AssignmentStatus
    status_at: datetime
    timer: Timer | None


@dataclass(frozen=True)
class BoardRow:
    unit: Unit
    status: UnitStatus
    home: bool  # False: a mutual aid unit, read-only on this user's board
    committed: AssignmentRow | None  # the one incident the unit is committed to
    reserved: list[AssignmentRow] = field(default_factory=list)
    emergency: bool = False

    @property
    def call_sign(self) -> str:
        return self.unit.call_sign

    @property
    def timer(self) -> Timer | None:
        return self.committed.timer if self.committed else None


class Thresholds:
    """The StatusThreshold table in memory: the kind's own row wins over the any-kind row."""

    def __init__(self, rows: list[StatusThreshold]) -> None:
        self._rows = {(row.status, row.unit_kind): row for row in rows}

    @classmethod
    def load(cls) -> "Thresholds":
        return cls(list(StatusThreshold.objects.all()))

    def timer(self, status: str, unit_kind: str, since: datetime, now: datetime) -> Timer:
        seconds = max(0, int((now - since).total_seconds()))
        row = self._rows.get((status, unit_kind)) or self._rows.get((status, ""))
        if row is None:
            return Timer(seconds, False, False, "", None, None)
        return Timer(
            seconds=seconds,
            warn=seconds >= row.warn_after_s,
            alarm=seconds >= row.alarm_after_s,
            label=row.label,
            warn_after_s=row.warn_after_s,
            alarm_after_s=row.alarm_after_s,
        )


def _open_assignments() -> "Prefetch[Any]":
    return Prefetch(
        "assignments",
        queryset=Assignment.objects.exclude(status=AssignmentStatus.CLEARED)
        .select_related("incident")
        .order_by("id"),
        to_attr="open_assignments",
    )


def board_row(
    unit: Unit, *, home: bool, thresholds: Thresholds, now: datetime | None = None
) -> BoardRow:
    """One unit's row; `unit` must carry `open_assignments` (see `_open_assignments`)."""
    now = now or timezone.now()
    rows = []
    for assignment in getattr(unit, "open_assignments", ()):
        status = AssignmentStatus(assignment.status)
        rows.append(
            AssignmentRow(
                id=assignment.pk,
                incident_id=assignment.incident_id,
                incident_number=assignment.incident.display_number,
                status=status,
                status_at=assignment.status_at,
                timer=thresholds.timer(status, unit.kind, assignment.status_at, now),
            )
        )
    committed = next((row for row in rows if row.status in COMMITTED_STATUSES), None)
    return BoardRow(
        unit=unit,
        status=derive_unit_status(unit.in_service, [row.status for row in rows]),
        home=home,
        committed=committed,
        reserved=[row for row in rows if row.status == AssignmentStatus.RESERVED],
        emergency=unit.emergency_at is not None,
    )


def unit_board(
    user: Any,
    *,
    scope: str = "home",
    kinds: list[str] | None = None,
    status: str | None = None,
    agency: str | None = None,
    call_sign: str | None = None,
    now: datetime | None = None,
) -> list[BoardRow]:
    """The unit status board: each unit's derived status, its committed incident with the time
    in status and warn/alarm flags (StatusThreshold), reservations, open emergency.

    `scope`: "home" (the user's units) or "all" (home units and mutual aid, read-only).
    Filters: unit kinds, derived status, agency code, call sign prefix. A constant number of
    queries whatever the number of units (units, open assignments, thresholds, home agencies).
    """
    home = home_agency_ids(user)
    if home is not None and not home:
        return []
    units = Unit.objects.select_related("agency", "home_station").prefetch_related(
        _open_assignments()
    )
    if scope != "all" and home is not None:
        units = units.filter(agency_id__in=home)
    if kinds:
        units = units.filter(kind__in=kinds)
    if agency:
        units = units.filter(agency__code=agency)
    if call_sign:
        units = units.filter(call_sign__istartswith=call_sign)
    thresholds = Thresholds.load()
    now = now or timezone.now()
    rows = [
        board_row(
            unit,
            home=home is None or unit.agency_id in home,
            thresholds=thresholds,
            now=now,
        )
        for unit in units.order_by("call_sign")
    ]
    if status:
        rows = [row for row in rows if row.status == status]
    # Home units first, then mutual aid; emergencies and alarms lead within each.
    rows.sort(key=lambda row: (not row.home, not row.emergency, not _alarming(row)))
    return rows


def _alarming(row: BoardRow) -> bool:
    timer = row.timer
    return bool(timer and timer.alarm)


def unit_detail(user: Any, unit_id: int, *, now: datetime | None = None) -> BoardRow:
    """One unit's board row (404 when the user may not see it)."""
    if not may_see_units(user):
        raise Http404("No unit matches the given query.")
    unit = (
        Unit.objects.select_related("agency", "home_station")
        .prefetch_related(_open_assignments())
        .filter(pk=unit_id)
        .first()
    )
    if unit is None:
        raise Http404("No unit matches the given query.")
    home = home_agency_ids(user)
    return board_row(
        unit,
        home=home is None or unit.agency_id in home,
        thresholds=Thresholds.load(),
        now=now,
    )


UNIT_KINDS = frozenset(UnitKind.values)
