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
   listed with the reason: committed (and where), out of service, open emergency, lacks the
   capability, or not the primary agency while the primary agency had units (at most
   MAX_REJECTIONS per line, nearest first, with the total count).

`recommend(incident)` reads the plan and a fleet snapshot from the database (a constant number
of queries); `recommend_plan(fleet, plan, ...)` is the pure in-process part, numpy over the
whole fleet, which the benchmark times with 5,000 units.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
_MIN_PER_KM = np.array([eta.MINUTES_PER_KM[kind] for kind in KIND_CODES])

# The fallback line when no plan exists: the general-purpose first-due kinds per discipline.
DEFAULT_KINDS: dict[str, tuple[str, ...]] = {
    Discipline.POLICE: (UnitKind.TROOP_CAR, UnitKind.POLICE_CAR),
    Discipline.FIRE: (UnitKind.ENGINE,),
    Discipline.EMS: (UnitKind.ALS, UnitKind.BLS),
    Discipline.OTHER: (UnitKind.TROOP_CAR, UnitKind.POLICE_CAR),
}


class Reason:
    """Why a closer unit was not picked (machine-readable codes; `text` says it in words)."""

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
        kinds = " or ".join(str(UnitKind(kind).label) for kind in self.kinds)
        cap = f" with {str(Capability(self.capability).label).lower()}" if self.capability else ""
        return f"{self.count} x {kinds}{cap}"

    @property
    def disciplines(self) -> frozenset[str]:
        return frozenset(UNIT_DISCIPLINE[UnitKind(kind)].value for kind in self.kinds)


@dataclass(frozen=True)
class PlanSpec:
    name: str
    source: str  # "town", "statewide" or "default"
    lines: tuple[LineSpec, ...]


@dataclass
class Fleet:
    """Every unit as parallel arrays (one row per unit), built once per recommendation."""

    ids: NDArray[np.int64]
    call_signs: list[str]
    kind_codes: NDArray[np.intp]
    agency_idx: NDArray[np.intp]  # index into agency_ids / agency_codes / agency_names
    agency_ids: list[int]
    agency_codes: list[str]
    agency_names: list[str]
    caps: NDArray[np.int64]
    in_service: NDArray[np.bool_]
    emergency: NDArray[np.bool_]
    committed: NDArray[np.bool_]
    lat: NDArray[np.float64]  # degrees, NaN when the unit has no usable position
    lon: NDArray[np.float64]
    position_source: list[str]  # "avl", "station", "stale avl", "" per unit
    committed_where: dict[int, str] = field(default_factory=dict)  # row -> "26-000123"
    committed_incident: dict[int, int] = field(default_factory=dict)  # row -> incident id
    lat_rad: NDArray[np.float64] = field(init=False)
    lon_rad: NDArray[np.float64] = field(init=False)
    cos_lat: NDArray[np.float64] = field(init=False)
    positioned: NDArray[np.bool_] = field(init=False)
    by_kind: dict[int, NDArray[np.intp]] = field(init=False)

    def __post_init__(self) -> None:
        self.lat_rad = np.radians(self.lat)
        self.lon_rad = np.radians(self.lon)
        self.cos_lat = np.cos(self.lat_rad)
        self.positioned = ~np.isnan(self.lat)
        self.by_kind = {
            code: np.flatnonzero(self.kind_codes == code) for code in range(len(KIND_CODES))
        }
        self.row_of = {int(pk): row for row, pk in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.call_signs)


@dataclass(frozen=True)
class UnitRow:
    """One unit as the fleet needs it (what `Fleet.build` takes)."""

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


def build_fleet(rows: Iterable[UnitRow]) -> Fleet:
    rows = list(rows)
    agencies: dict[int, int] = {}
    agency_ids: list[int] = []
    agency_codes: list[str] = []
    agency_names: list[str] = []
    agency_idx = []
    for row in rows:
        if row.agency_id not in agencies:
            agencies[row.agency_id] = len(agency_ids)
            agency_ids.append(row.agency_id)
            agency_codes.append(row.agency_code)
            agency_names.append(row.agency_name)
        agency_idx.append(agencies[row.agency_id])
    nan = float("nan")
    fleet = Fleet(
        ids=np.array([row.id for row in rows], dtype=np.int64),
        call_signs=[row.call_sign for row in rows],
        kind_codes=np.array([_KIND_INDEX[row.kind] for row in rows], dtype=np.intp),
        agency_idx=np.array(agency_idx, dtype=np.intp),
        agency_ids=agency_ids,
        agency_codes=agency_codes,
        agency_names=agency_names,
        caps=np.array(
            [sum(_CAP_BIT.get(cap, 0) for cap in set(row.capabilities)) for row in rows],
            dtype=np.int64,
        ),
        in_service=np.array([row.in_service for row in rows], dtype=np.bool_),
        emergency=np.array([row.emergency for row in rows], dtype=np.bool_),
        committed=np.array([row.committed_to is not None for row in rows], dtype=np.bool_),
        lat=np.array([nan if row.lat is None else row.lat for row in rows], dtype=np.float64),
        lon=np.array([nan if row.lon is None else row.lon for row in rows], dtype=np.float64),
        position_source=[row.position_source for row in rows],
    )
    for index, row in enumerate(rows):
        if row.committed_to is not None:
            fleet.committed_incident[index], fleet.committed_where[index] = row.committed_to
    return fleet


# --- outputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
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


@dataclass(frozen=True)
class Rejection:
    unit_id: int
    call_sign: str
    kind: str
    agency: str
    line: int
    distance_km: float
    eta_min: float
    reason: str
    why: str


@dataclass(frozen=True)
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
    model: str = field(default_factory=eta.describe)

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


def _kind_table(kinds: Iterable[str]) -> NDArray[np.bool_]:
    table = np.zeros(len(KIND_CODES), dtype=np.bool_)
    for kind in kinds:
        table[_KIND_INDEX[kind]] = True
    return table


def _reason(
    fleet: Fleet, row: int, is_primary: bool, cap_bit: int, line: LineSpec
) -> tuple[str, str]:
    if not fleet.in_service[row]:
        return Reason.OUT_OF_SERVICE, "out of service"
    if fleet.emergency[row]:
        return Reason.EMERGENCY, "has an open emergency"
    if fleet.committed[row]:
        return Reason.COMMITTED, f"committed to incident {fleet.committed_where.get(row, '?')}"
    if cap_bit and not fleet.caps[row] & cap_bit:
        label = str(Capability(line.capability).label).lower()
        return Reason.CAPABILITY, f"lacks {label}"
    if not is_primary:
        return (
            Reason.NOT_PRIMARY,
            "mutual aid: not the primary agency, and the primary agency had units to send",
        )
    return Reason.NOT_PRIMARY, "not picked"  # not reached: an eligible primary unit is picked


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
    relevant_kinds = {kind for line in plan.lines for kind in line.kinds}
    relevant = np.concatenate(
        [fleet.by_kind[_KIND_INDEX[kind]] for kind in sorted(relevant_kinds)]
        or [np.empty(0, dtype=np.intp)]
    )
    # Work on the plan's kinds only: distances, ETAs and masks over that subset.
    distance = eta.great_circle_km_many(
        fleet.lat_rad[relevant], fleet.lon_rad[relevant], fleet.cos_lat[relevant], lat, lon
    )
    minutes = distance * _MIN_PER_KM[fleet.kind_codes[relevant]]
    positioned = fleet.positioned[relevant]
    free = fleet.in_service[relevant] & ~fleet.committed[relevant] & ~fleet.emergency[relevant]
    free &= positioned
    kinds = fleet.kind_codes[relevant]
    caps = fleet.caps[relevant]
    agency_idx = fleet.agency_idx[relevant]
    taken = np.zeros(len(relevant), dtype=np.bool_)

    local = {int(row): i for i, row in enumerate(relevant)}
    already = [local[fleet.row_of[pk]] for pk in on_incident if fleet.row_of.get(pk) in local]
    for i in already:
        free[i] = True  # committed, but to this incident: it fills a line
    primary_tables: dict[str, NDArray[np.bool_]] = {}
    agency_pos = {agency_id: i for i, agency_id in enumerate(fleet.agency_ids)}
    for discipline, ids in primary_agency_ids.items():
        table = np.zeros(len(fleet.agency_ids), dtype=np.bool_)
        for agency_id in ids:
            if agency_id in agency_pos:
                table[agency_pos[agency_id]] = True
        primary_tables[discipline] = table

    results = []
    for index, line in enumerate(plan.lines):
        kind_mask = _kind_table(line.kinds)[kinds]
        cap_bit = _CAP_BIT.get(line.capability, 0)
        fits = kind_mask & ((caps & cap_bit) != 0) if cap_bit else kind_mask
        primary_table = np.zeros(len(fleet.agency_ids), dtype=np.bool_)
        for discipline in line.disciplines:
            if discipline in primary_tables:
                primary_table |= primary_tables[discipline]
        primary = primary_table[agency_idx]

        picked: list[tuple[int, bool]] = []  # (local index, already assigned)
        for i in already:
            if fits[i] and not taken[i] and len(picked) < line.count:
                picked.append((i, True))
                taken[i] = True
        eligible = fits & free & ~taken
        need = line.count - len(picked)
        for group in (eligible & primary, eligible & ~primary):
            if need <= 0:
                break
            chosen = _nearest(np.flatnonzero(group), minutes, need)
            picked.extend((int(i), False) for i in chosen)
            taken[chosen] = True
            need -= len(chosen)
        results.append(
            _line_result(
                fleet,
                relevant,
                index,
                line,
                picked,
                distance,
                minutes,
                kind_mask & positioned & ~taken,
                primary,
                cap_bit,
                bool(primary_table.any()),
            )
        )
    return Recommendation(
        incident_id=incident_id,
        plan=plan,
        lat=lat,
        lon=lon,
        location_approximate=location_approximate,
        primary={
            discipline: [fleet.agency_codes[agency_pos[a]] for a in ids if a in agency_pos]
            for discipline, ids in primary_agency_ids.items()
        },
        lines=results,
    )


def _nearest(candidates: NDArray[np.intp], minutes: NDArray[np.float64], k: int) -> NDArray[Any]:
    if len(candidates) > k:
        part = np.argpartition(minutes[candidates], k - 1)[:k]
        candidates = candidates[part]
    return candidates[np.argsort(minutes[candidates], kind="stable")]


def _line_result(
    fleet: Fleet,
    relevant: NDArray[np.intp],
    index: int,
    line: LineSpec,
    picked: list[tuple[int, bool]],
    distance: NDArray[np.float64],
    minutes: NDArray[np.float64],
    others: NDArray[np.bool_],
    primary: NDArray[np.bool_],
    cap_bit: int,
    has_primary_agency: bool,
) -> LineResult:
    picks = []
    for i, already in picked:
        row = int(relevant[i])
        is_primary = bool(primary[i])
        if already:
            why = "already on this incident"
        elif is_primary:
            why = "closest available unit of the primary agency"
        elif has_primary_agency:
            why = "mutual aid: the primary agency cannot fill this line (no such unit free)"
        else:
            why = "mutual aid: no primary agency for this discipline in the town"
        picks.append(
            Pick(
                unit_id=int(fleet.ids[row]),
                call_sign=fleet.call_signs[row],
                kind=KIND_CODES[fleet.kind_codes[row]],
                agency=fleet.agency_codes[fleet.agency_idx[row]],
                agency_name=fleet.agency_names[fleet.agency_idx[row]],
                line=index,
                distance_km=round(float(distance[i]), 2),
                eta_min=round(float(minutes[i]), 1),
                primary=is_primary,
                position_source=fleet.position_source[row],
                already_assigned=already,
                why=why,
            )
        )
    unfilled = line.count - len(picks)
    # Closer than the farthest pick (all of them when the line is not filled) and not picked.
    limit = max((minutes[i] for i, _ in picked), default=np.inf) if not unfilled else np.inf
    closer = np.flatnonzero(others & (minutes < limit))
    shown = _nearest(closer, minutes, MAX_REJECTIONS) if len(closer) else closer
    rejections = []
    for j in shown:
        i = int(j)
        row = int(relevant[i])
        reason, why = _reason(fleet, row, bool(primary[i]), cap_bit, line)
        rejections.append(
            Rejection(
                unit_id=int(fleet.ids[row]),
                call_sign=fleet.call_signs[row],
                kind=KIND_CODES[fleet.kind_codes[row]],
                agency=fleet.agency_codes[fleet.agency_idx[row]],
                line=index,
                distance_km=round(float(distance[i]), 2),
                eta_min=round(float(minutes[i]), 1),
                reason=reason,
                why=why,
            )
        )
    return LineResult(
        index=index,
        label=line.label,
        kinds=line.kinds,
        count=line.count,
        capability=line.capability,
        picks=picks,
        rejections=rejections,
        closer_rejected_total=len(closer),
        unfilled=unfilled,
        mutual_aid=any(not pick.primary and not pick.already_assigned for pick in picks),
    )


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
