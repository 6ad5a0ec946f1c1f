"""Unit recommendation: which units to send to an incident, and why each one (and not others).

1. The response plan: the incident town's own run card for the nature code, else the statewide
   one, else one line "the closest unit of the nature's discipline" (police: a patrol car;
   fire: an engine; EMS: an ambulance; other: a patrol car).
2. Units already on the incident (dispatched or reserved) fill lines first.
3. For each remaining line, in the plan's order, the candidates are units of one of the line's
   kinds (with the line's capability, if any) that are in service, not committed to another
   incident and without an open emergency. They are ranked by ETA (eta.py). Units of the
   primary agency for the location come first — police: the town's police agency (its own
   department or its State Police troop, as `locate()` answers); fire and EMS: the fire
   departments / EMS agencies based in the town — and mutual aid (any other agency) fills
   only what the primary agency cannot.
4. Every pick says its distance, ETA, agency, position source and the line it fills; every
   unit of a line's kinds that was closer than the line's farthest pick and not picked is
   counted, and the nearest MAX_REJECTIONS of them are listed with the reason: committed (and
   where), out of service, open emergency, lacks the capability, or not the primary agency
   while the primary agency had units.

`recommend(incident)` reads the plan and a fleet snapshot from the database (a constant number
of queries); `recommend_plan(fleet, plan, ...)` is the pure in-process part, numpy over the
snapshot, which the benchmark times with 5,000 units. A snapshot keeps, per set of unit kinds
a plan asks for, those units' arrays (unit vectors, speeds, flags) — an index built once, like
a database's — so a recommendation is a handful of vector operations over its candidates.
"""

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
from django.db.models import Prefetch, Q
from django.utils import timezone
from numpy.typing import NDArray

from despp.core.errors import Conflict
from despp.core.models import Agency, AgencyKind
from despp.dispatch import eta
from despp.dispatch.models import (
    COMMITTED_STATUSES,
    UNIT_DISCIPLINE,
    Assignment,
    AssignmentStatus,
    Capability,
    Discipline,
    Incident,
    ResponsePlan,
    ResponsePlanLine,
    Unit,
    UnitKind,
)

MAX_REJECTIONS = 5

KIND_CODES: tuple[str, ...] = tuple(UnitKind.values)
_KIND_INDEX = {kind: code for code, kind in enumerate(KIND_CODES)}
_CAP_BIT = {cap: 1 << bit for bit, cap in enumerate(Capability.values)}
_MIN_PER_KM: list[float] = [eta.MINUTES_PER_KM[kind] for kind in KIND_CODES]

# The fallback line when no plan exists: the general-purpose first-due kinds per discipline.
DEFAULT_KINDS: dict[str, tuple[str, ...]] = {
    Discipline.POLICE: (UnitKind.TROOP_CAR, UnitKind.POLICE_CAR),
    Discipline.FIRE: (UnitKind.ENGINE,),
    Discipline.EMS: (UnitKind.ALS, UnitKind.BLS),
    Discipline.OTHER: (UnitKind.TROOP_CAR, UnitKind.POLICE_CAR),
}


class Reason:
    """Why a closer unit was not picked (machine-readable codes; `why` says it in words)."""

    COMMITTED = "committed"
    OUT_OF_SERVICE = "out_of_service"
    EMERGENCY = "emergency"
    CAPABILITY = "wrong_capability"
    NOT_PRIMARY = "not_primary"


# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSpec:
    kinds: tuple[str, ...]
    count: int
    capability: str = ""

    @property
    def label(self) -> str:
        return _line_label(self.kinds, self.count, self.capability)

    @property
    def disciplines(self) -> frozenset[str]:
        return _disciplines(self.kinds)


@functools.cache
def _line_label(kinds: tuple[str, ...], count: int, capability: str) -> str:
    names = " or ".join(str(UnitKind(kind).label) for kind in kinds)
    cap = f" with {str(Capability(capability).label).lower()}" if capability else ""
    return f"{count} x {names}{cap}"


@functools.cache
def _disciplines(kinds: tuple[str, ...]) -> frozenset[str]:
    return frozenset(UNIT_DISCIPLINE[UnitKind(kind)].value for kind in kinds)


@dataclass(frozen=True)
class PlanSpec:
    name: str
    source: str  # "town", "statewide" or "default"
    lines: tuple[LineSpec, ...]

    @functools.cached_property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted({kind for line in self.lines for kind in line.kinds}))


@dataclass(frozen=True)
class UnitRow:
    """One unit as the fleet needs it (what `build_fleet` takes)."""

    id: int
    call_sign: str
    kind: str
    agency_id: int
    agency_code: str
    agency_name: str
    capabilities: Sequence[str]
    in_service: bool
    emergency: bool
    lat: float | None
    lon: float | None
    position_source: str
    committed_to: tuple[int, str] | None = None  # (incident id, display number)


class Fleet:
    """A snapshot of every unit: the rows as given, plus per-kinds candidate arrays built on
    first use (`candidates`)."""

    def __init__(self, rows: Sequence[UnitRow]) -> None:
        self.rows = list(rows)
        self.row_of = {row.id: n for n, row in enumerate(self.rows)}
        self._candidates: dict[tuple[str, ...], Candidates] = {}
        self.agency_codes = {row.agency_id: row.agency_code for row in self.rows}

    def __len__(self) -> int:
        return len(self.rows)

    def candidates(self, kinds: tuple[str, ...]) -> "Candidates":
        found = self._candidates.get(kinds)
        if found is None:
            wanted = set(kinds)
            rows = np.array(
                [n for n, row in enumerate(self.rows) if row.kind in wanted], dtype=np.intp
            )
            found = self._candidates[kinds] = Candidates(self, rows)
        return found


class Candidates:
    """The units of some kinds as arrays: unit vectors (the chord to a point ranks them by
    distance), ETA minutes per unit of chord, availability, capabilities, agency."""

    def __init__(self, fleet: Fleet, rows: NDArray[np.intp]) -> None:
        units = [fleet.rows[n] for n in rows]
        self.fleet = fleet
        self.rows = rows
        self.local = {int(n): i for i, n in enumerate(rows)}
        self.kind = np.array([_KIND_INDEX[u.kind] for u in units], dtype=np.intp)
        lat = np.radians(np.array([u.lat if u.lat is not None else 0.0 for u in units]))
        lon = np.radians(np.array([u.lon if u.lon is not None else 0.0 for u in units]))
        self.positioned = np.array([u.lat is not None for u in units], dtype=np.bool_)
        self.xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], 1)
        self.xyz[~self.positioned] = 0.0  # never picked; ranked as far away
        self.minutes_per_chord = np.array([_MIN_PER_KM[k] for k in self.kind]) * eta.EARTH_RADIUS_KM
        self.free = self.positioned & np.array(
            [u.in_service and not u.emergency and u.committed_to is None for u in units],
            dtype=np.bool_,
        )
        self.caps = np.array(
            [sum(_CAP_BIT.get(cap, 0) for cap in set(u.capabilities)) for u in units],
            dtype=np.int64,
        )
        self.agency_ids = [u.agency_id for u in units]
        self._lines: dict[tuple[tuple[str, ...], int], LineIndex] = {}

    def line(self, kinds: tuple[str, ...], cap_bit: int) -> "LineIndex":
        """The units of a line's kinds, with which may go (cached per line)."""
        key = (kinds, cap_bit)
        found = self._lines.get(key)
        if found is None:
            table = np.zeros(len(KIND_CODES), dtype=np.bool_)
            table[[_KIND_INDEX[kind] for kind in kinds]] = True
            idx = np.flatnonzero(table[self.kind])
            fits = (self.caps[idx] & cap_bit) != 0 if cap_bit else np.ones(len(idx), np.bool_)
            eligible = fits & self.free[idx]
            by_agency: dict[int, list[int]] = {}
            for n, i in enumerate(idx):
                by_agency.setdefault(self.agency_ids[i], []).append(n)
            found = self._lines[key] = LineIndex(
                idx=idx,
                position={int(p): n for n, p in enumerate(idx)},
                eligible=eligible,
                positioned=self.positioned[idx],
                free_list=eligible.tolist(),
                units=[self.fleet.rows[self.rows[i]] for i in idx],
                by_agency=by_agency,
            )
        return found

    def minutes(self, lat: float, lon: float) -> NDArray[np.float64]:
        """ETA minutes to a point for ranking. The chord |u - p| = sqrt(2 - 2 u.p) times the
        earth's radius is shorter than the arc by under 0.01 % across a state, so this ranks
        as the great circle does; distances and ETAs shown are recomputed exactly."""
        phi, lam = math.radians(lat), math.radians(lon)
        point = np.array([math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam),
                          math.sin(phi)])  # fmt: skip
        chord = np.sqrt(np.maximum(2.0 - 2.0 * (self.xyz @ point), 0.0))
        result: NDArray[np.float64] = chord * self.minutes_per_chord
        return result


@dataclass(frozen=True)
class LineIndex:
    idx: NDArray[np.intp]  # indexes into the candidates
    position: dict[int, int]  # candidate index -> position in idx
    eligible: NDArray[np.bool_]  # free to go and with the line's capability
    positioned: NDArray[np.bool_]
    free_list: list[bool]  # `eligible` as a list, for the few primary units
    units: list[UnitRow]  # the unit at each position
    by_agency: dict[int, list[int]]  # agency id -> positions of its units in idx


def build_fleet(rows: Iterable[UnitRow]) -> Fleet:
    return Fleet(list(rows))


# --- outputs --------------------------------------------------------------------------------


class Pick(NamedTuple):
    unit_id: int
    call_sign: str
    kind: str
    agency: str
    agency_name: str
    line: int  # index into Recommendation.lines
    distance_km: float
    eta_min: float
    primary: bool
    position_source: str
    already_assigned: bool
    why: str


class Rejection(NamedTuple):
    unit_id: int
    call_sign: str
    kind: str
    agency: str
    line: int
    distance_km: float
    eta_min: float
    reason: str
    why: str


@dataclass(slots=True)
class LineResult:
    index: int
    label: str
    kinds: tuple[str, ...]
    count: int
    capability: str
    picks: list[Pick]
    rejections: list[Rejection]
    closer_rejected_total: int
    unfilled: int
    mutual_aid: bool


@dataclass(frozen=True)
class Recommendation:
    incident_id: int | None
    plan: PlanSpec
    lat: float
    lon: float
    location_approximate: bool
    primary: dict[str, list[str]]  # discipline -> primary agency codes
    lines: list[LineResult]
    model: str = field(default_factory=eta.describe)  # cached: the same text each time

    @property
    def picks(self) -> list[Pick]:
        return [pick for line in self.lines for pick in line.picks]

    @property
    def new_picks(self) -> list[Pick]:
        """The units to dispatch now (not those already on the incident)."""
        return [pick for pick in self.picks if not pick.already_assigned]

    @property
    def unit_ids(self) -> list[int]:
        return [pick.unit_id for pick in self.new_picks]


# --- the pure part --------------------------------------------------------------------------


def _reason(unit: UnitRow, is_primary: bool, cap_bit: int, line: LineSpec) -> tuple[str, str]:
    if not unit.in_service:
        return Reason.OUT_OF_SERVICE, "out of service"
    if unit.emergency:
        return Reason.EMERGENCY, "has an open emergency"
    if unit.committed_to is not None:
        return Reason.COMMITTED, f"committed to incident {unit.committed_to[1]}"
    if cap_bit and not any(_CAP_BIT.get(cap) == cap_bit for cap in unit.capabilities):
        return Reason.CAPABILITY, f"lacks {str(Capability(line.capability).label).lower()}"
    if not is_primary:
        return (
            Reason.NOT_PRIMARY,
            "mutual aid: not the primary agency, and the primary agency had units to send",
        )
    return Reason.NOT_PRIMARY, "not picked"  # not reached: an eligible primary unit is picked


def _nearest(mask: NDArray[np.bool_], minutes: NDArray[np.float64], k: int) -> list[int]:
    """Up to k indexes where `mask` holds, nearest first (ties: lower index first)."""
    if k <= 0:
        return []
    found = np.flatnonzero(mask)
    if len(found) > k:
        values = minutes[found]
        if k == 1:
            return [int(found[values.argmin()])]
        found = found[np.argpartition(values, k - 1)[:k]]
    return [i for _, i in sorted(zip(minutes[found].tolist(), found.tolist(), strict=True))]


def _exact(unit: UnitRow, lat: float, lon: float) -> tuple[float, float]:
    """(distance km, ETA minutes) by the documented model (eta.py), for a unit shown."""
    km = eta.great_circle_km(unit.lat or 0.0, unit.lon or 0.0, lat, lon)
    return round(km, 2), round(km * _MIN_PER_KM[_KIND_INDEX[unit.kind]], 1)


def recommend_plan(
    fleet: Fleet,
    plan: PlanSpec,
    lat: float,
    lon: float,
    *,
    primary_agency_ids: Mapping[str, Iterable[int]],
    on_incident: Iterable[int] = (),
    incident_id: int | None = None,
    location_approximate: bool = False,
) -> Recommendation:
    """Fill `plan` from `fleet` for a point (pure: no database). `primary_agency_ids` maps a
    discipline to its primary agencies' ids; `on_incident` are unit ids already assigned."""
    pool = fleet.candidates(plan.kinds)
    minutes = pool.minutes(lat, lon)
    primary_pos = {discipline: list(ids) for discipline, ids in primary_agency_ids.items()}
    already = [pool.local[fleet.row_of[pk]] for pk in on_incident
               if pk in fleet.row_of and fleet.row_of[pk] in pool.local]  # fmt: skip
    taken: set[int] = set()  # candidate indexes picked so far, by any line
    results = []
    for index, line in enumerate(plan.lines):
        cap_bit = _CAP_BIT.get(line.capability, 0)
        li = pool.line(line.kinds, cap_bit)
        line_minutes = minutes[li.idx]
        agencies = [a for d in line.disciplines for a in primary_pos.get(d, ())]
        primary = {n for a in agencies for n in li.by_agency.get(a, ())}
        picked: list[tuple[int, bool]] = []  # (position in the line, already on the incident)
        for i in already:
            n = li.position.get(i)
            if (
                n is not None
                and i not in taken
                and len(picked) < line.count
                and (not cap_bit or pool.caps[i] & cap_bit)
            ):
                picked.append((n, True))
                taken.add(i)
        blocked = {li.position[i] for i in taken if i in li.position}
        need = line.count - len(picked)
        if need > 0 and primary:  # the primary agency's few units, in plain Python
            free = li.free_list
            ranked = sorted(
                (line_minutes.item(n), n) for n in primary if free[n] and n not in blocked
            )[:need]
            picked += [(n, False) for _, n in ranked]
            blocked.update(n for _, n in ranked)
            need -= len(ranked)
        if need > 0:  # mutual aid: the nearest free units of any other agency
            eligible = li.eligible.copy()
            eligible[list(blocked | primary)] = False
            chosen = _nearest(eligible, line_minutes, need)
            picked += [(n, False) for n in chosen]
            blocked.update(chosen)
        taken.update(int(li.idx[n]) for n, _ in picked)
        results.append(
            _line_result(
                pool, li, index, line, picked, line_minutes, primary, list(blocked), cap_bit,
                bool(agencies), lat, lon,
            )
        )  # fmt: skip
    codes = fleet.agency_codes
    return Recommendation(
        incident_id=incident_id,
        plan=plan,
        lat=lat,
        lon=lon,
        location_approximate=location_approximate,
        primary={
            discipline: [codes[a] for a in ids if a in codes]
            for discipline, ids in primary_agency_ids.items()
        },
        lines=results,
    )


def _line_result(
    pool: Candidates,
    li: LineIndex,
    index: int,
    line: LineSpec,
    picked: list[tuple[int, bool]],
    minutes: NDArray[np.float64],
    primary: set[int],
    blocked: list[int],
    cap_bit: int,
    has_primary_agency: bool,
    lat: float,
    lon: float,
) -> LineResult:
    picks = []
    for n, already in picked:
        unit = li.units[n]
        is_primary = n in primary
        if already:
            why = "already on this incident"
        elif is_primary:
            why = "closest available unit of the primary agency"
        elif has_primary_agency:
            why = "mutual aid: the primary agency cannot fill this line (no such unit free)"
        else:
            why = "mutual aid: no primary agency for this discipline in the town"
        distance_km, eta_min = _exact(unit, lat, lon)
        picks.append(
            Pick(unit.id, unit.call_sign, unit.kind, unit.agency_code, unit.agency_name, index,
                 distance_km, eta_min, is_primary, unit.position_source, already, why)
        )  # fmt: skip
    unfilled = line.count - len(picks)
    # Units of the line's kinds closer than its farthest pick (any distance when the line is
    # not filled), not picked by any line: counted, and the nearest ones explained.
    if picked and not unfilled:
        others = li.positioned & (minutes < max(minutes.item(n) for n, _ in picked))
    else:
        others = li.positioned.copy()
    if blocked:
        others[blocked] = False
    total = int(np.count_nonzero(others))
    rejections = []
    for n in _nearest(others, minutes, min(total, MAX_REJECTIONS)):
        unit = li.units[n]
        reason, why = _reason(unit, n in primary, cap_bit, line)
        distance_km, eta_min = _exact(unit, lat, lon)
        rejections.append(
            Rejection(unit.id, unit.call_sign, unit.kind, unit.agency_code, index, distance_km,
                      eta_min, reason, why)
        )  # fmt: skip
    return LineResult(
        index, line.label, line.kinds, line.count, line.capability, picks, rejections, total,
        unfilled, any(not pick.primary and not pick.already_assigned for pick in picks),
    )  # fmt: skip


# --- reading the database -------------------------------------------------------------------


def _position(unit: Mapping[str, Any], now: datetime) -> tuple[float | None, float | None, str]:
    fresh = unit["position_at"] is not None and (
        (now - unit["position_at"]).total_seconds() <= eta.AVL_FRESH_S
    )
    if unit["lat"] is not None and fresh:
        return unit["lat"], unit["lon"], "avl"
    if unit["home_station__lat"] is not None:
        return unit["home_station__lat"], unit["home_station__lon"], "station"
    if unit["lat"] is not None:
        return unit["lat"], unit["lon"], "stale avl"
    return None, None, ""


def fleet_from_db(*, now: datetime | None = None) -> Fleet:
    """Every unit with its position, service state and commitment: two queries."""
    now = now or timezone.now()
    committed = {
        unit_id: (incident_id, f"{year % 100:02d}-{number:06d}")
        for unit_id, incident_id, year, number in Assignment.objects.filter(
            status__in=COMMITTED_STATUSES
        ).values_list("unit_id", "incident_id", "incident__year", "incident__number")
    }
    rows = []
    for unit in Unit.objects.values(
        "pk",
        "call_sign",
        "kind",
        "agency_id",
        "agency__code",
        "agency__name",
        "capabilities",
        "in_service",
        "emergency_at",
        "lat",
        "lon",
        "position_at",
        "home_station__lat",
        "home_station__lon",
    ).order_by("pk"):
        lat, lon, source = _position(unit, now)
        rows.append(
            UnitRow(
                id=unit["pk"],
                call_sign=unit["call_sign"],
                kind=unit["kind"],
                agency_id=unit["agency_id"],
                agency_code=unit["agency__code"],
                agency_name=unit["agency__name"],
                capabilities=unit["capabilities"] or [],
                in_service=unit["in_service"],
                emergency=unit["emergency_at"] is not None,
                lat=lat,
                lon=lon,
                position_source=source,
                committed_to=committed.get(unit["pk"]),
            )
        )
    return build_fleet(rows)


def plan_for(incident: Incident) -> PlanSpec:
    """The town's run card for the nature, else the statewide one, else the default line."""
    plans = {
        plan.town_id: plan
        for plan in ResponsePlan.objects.filter(
            Q(town__isnull=True) | Q(town_id=incident.town_id), nature_id=incident.nature_id
        ).prefetch_related(Prefetch("lines", ResponsePlanLine.objects.order_by("id")))
    }
    town_plan = plans.get(incident.town_id) if incident.town_id is not None else None
    for plan, source in ((town_plan, "town"), (plans.get(None), "statewide")):
        if plan is None:
            continue
        lines = tuple(
            LineSpec(tuple(line.unit_kinds), line.count, line.capability)
            for line in plan.lines.all()
            if line.count > 0
        )
        if lines:
            return PlanSpec(plan.name, source, lines)
    discipline = incident.nature.discipline
    return PlanSpec(
        f"Default: the closest {str(Discipline(discipline).label).lower()} unit",
        "default",
        (LineSpec(DEFAULT_KINDS[discipline], 1),),
    )


def primary_agencies(incident: Incident, lat: float, lon: float) -> dict[str, list[int]]:
    """Primary agency ids by discipline for the incident's location.

    Police: the incident's police agency (set from `locate()` at intake), else `locate()` now.
    Fire and EMS: the fire departments and EMS agencies based in the incident's town.
    """
    police_id = incident.police_agency_id
    town_id = incident.town_id
    if police_id is None or town_id is None:
        from despp.core import jurisdiction

        answer = jurisdiction.locate(lat, lon)
        police_id = police_id or answer.police_agency_id
        town_id = town_id or answer.town_id
    result: dict[str, list[int]] = {
        Discipline.POLICE.value: [police_id] if police_id else [],
        Discipline.FIRE.value: [],
        Discipline.EMS.value: [],
    }
    if town_id is not None:
        for pk, kind in Agency.objects.filter(
            town_id=town_id, active=True, kind__in=[AgencyKind.FIRE_DEPARTMENT, AgencyKind.EMS]
        ).values_list("pk", "kind"):
            discipline = Discipline.FIRE if kind == AgencyKind.FIRE_DEPARTMENT else Discipline.EMS
            result[discipline.value].append(pk)
    return result


def incident_point(incident: Incident) -> tuple[float, float, bool]:
    """(lat, lon, approximate): the incident's point, else its town's centroid."""
    if incident.lat is not None and incident.lon is not None:
        return incident.lat, incident.lon, False
    if incident.town is not None:
        return incident.town.centroid_lat, incident.town.centroid_lon, True
    raise Conflict(
        f"Incident {incident.display_number} has no location yet; enter one to get a "
        "recommendation.",
        current_state=incident.status,
    )


def recommend(incident: Incident, *, fleet: Fleet | None = None) -> Recommendation:
    """The recommendation for an incident (see the module docstring). Reads: the plan, the
    primary agencies, the units on the incident and the fleet — a constant number of queries."""
    lat, lon, approximate = incident_point(incident)
    plan = plan_for(incident)
    on_incident = (
        list(
            Assignment.objects.filter(incident_id=incident.pk)
            .exclude(status=AssignmentStatus.CLEARED)
            .order_by("id")
            .values_list("unit_id", flat=True)
        )
        if incident.pk is not None
        else []
    )
    return recommend_plan(
        fleet if fleet is not None else fleet_from_db(),
        plan,
        lat,
        lon,
        primary_agency_ids=primary_agencies(incident, lat, lon),
        on_incident=on_incident,
        incident_id=incident.pk,
        location_approximate=approximate,
    )
