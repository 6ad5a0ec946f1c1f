"""/api/dispatch: units, their status board, AVL positions, the emergency button, the
recommendation for an incident, dispatching, and each assignment's status. Thin: shapes are
checked here (pydantic), meaning in the services; reads go through selectors_units (a unit or
incident the caller may not see is a 404; see that module for who sees which unit).

Permissions: reading the board, a unit, a recommendation `incident.view`; position, service,
emergency and assignment status `unit.status` (position and service only for the caller's home
units); dispatching, reserving and acknowledging an emergency `incident.dispatch`. A refused
change is a 409 problem naming the unit and, when it is committed, where.
"""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import AwareDatetime, Field

from despp.core import audit
from despp.core.api_auth import staff_auth
from despp.core.models import AuditAction, User
from despp.core.permissions import Action
from despp.dispatch import selectors
from despp.dispatch import selectors_units as units_selectors
from despp.dispatch.api_calls_support import StrictIn, caller
from despp.dispatch.models import Assignment, AssignmentStatus, Incident, Unit, UnitKind
from despp.dispatch.recommend import Recommendation, recommend
from despp.dispatch.selectors_units import AssignmentRow, BoardRow
from despp.dispatch.services import assignments as assignment_services
from despp.dispatch.services import units as unit_services
from despp.dispatch.states import UnitStatus

router = Router(auth=staff_auth, tags=["dispatch: units and recommendation"])

MAX_UNITS_PER_DISPATCH = 50


# --- schemas -------------------------------------------------------------------------------


class TimerOut(Schema):
    seconds_in_status: int
    warn: bool
    alarm: bool
    threshold: str = Field(description="what the threshold asks for; empty when none applies")
    warn_after_s: int | None
    alarm_after_s: int | None


class UnitAssignmentOut(Schema):
    assignment: int
    incident: int
    incident_number: str
    status: AssignmentStatus
    status_at: datetime
    timer: TimerOut | None


class UnitOut(Schema):
    id: int
    call_sign: str
    kind: UnitKind
    kind_label: str
    agency: str
    agency_name: str
    station: str | None
    capabilities: list[str]
    status: UnitStatus = Field(description="derived: out of service, committed or available")
    home: bool = Field(description="false: a mutual aid unit, read-only for this caller")
    in_service: bool
    out_of_service_reason: str
    lat: float | None
    lon: float | None
    position_at: datetime | None
    emergency_at: datetime | None
    committed: UnitAssignmentOut | None
    reserved: list[UnitAssignmentOut]


class BoardQuery(Schema):
    scope: str = Field("home", pattern="^(home|all)$", description="home units, or all")
    kind: list[UnitKind] | None = Field(None, description="unit kinds (repeatable)")
    status: UnitStatus | None = None
    agency: str | None = Field(None, max_length=60, description="agency code")
    call_sign: str | None = Field(None, max_length=20, description="call sign prefix")


_LAT = Field(..., ge=-90, le=90, allow_inf_nan=False, description="WGS84 degrees")
_LON = Field(..., ge=-180, le=180, allow_inf_nan=False, description="WGS84 degrees")


class PositionIn(StrictIn):
    lat: float = _LAT
    lon: float = _LON
    at: AwareDatetime | None = Field(None, description="time of the fix; default now")


class PositionOut(Schema):
    applied: bool = Field(description="false: an older fix than the one stored, ignored")
    lat: float | None
    lon: float | None
    position_at: datetime | None


class ServiceIn(StrictIn):
    in_service: bool
    reason: str = Field("", max_length=200, description="required to go out of service")
    force: bool = Field(False, description="out of service even while committed")


class EmergencyOut(Schema):
    raised: bool = Field(description="false: an emergency was already open")
    unit: UnitOut


class DispatchIn(StrictIn):
    units: list[int | str] = Field(
        ...,
        min_length=1,
        max_length=MAX_UNITS_PER_DISPATCH,
        description="unit ids (numbers) or call signs (strings)",
    )
    recommended: list[int] = Field(
        default_factory=list,
        max_length=MAX_UNITS_PER_DISPATCH,
        description="the unit ids the recommendation offered (`unit_ids` of GET "
        "recommendation); other units replacing some of them is an override",
    )
    override_reason: str = Field("", max_length=200)
    reassign: bool = Field(False, description="take units committed elsewhere off there")


class ReserveIn(StrictIn):
    units: list[int | str] = Field(..., min_length=1, max_length=MAX_UNITS_PER_DISPATCH)


class AssignmentOut(Schema):
    id: int
    incident: int
    incident_number: str
    unit: int
    call_sign: str
    status: AssignmentStatus
    status_at: datetime
    reserved_at: datetime | None
    dispatched_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    transporting_at: datetime | None
    at_hospital_at: datetime | None
    cleared_at: datetime | None
    recommended: bool
    override_reason: str


class StatusIn(StrictIn):
    status: AssignmentStatus
    at: AwareDatetime | None = Field(None, description="when it happened; default now")
    reason: str = Field("", max_length=200)


class ClearIn(StrictIn):
    at: AwareDatetime | None = None
    reason: str = Field("", max_length=200)


class PickOut(Schema):
    unit: int
    call_sign: str
    kind: str
    agency: str
    agency_name: str
    line: int
    distance_km: float
    eta_min: float
    primary: bool
    position_source: str = Field(description="avl, station or stale avl")
    already_assigned: bool
    why: str


class RejectionOut(Schema):
    unit: int
    call_sign: str
    kind: str
    agency: str
    line: int
    distance_km: float
    eta_min: float
    reason: str = Field(
        description="committed, out_of_service, emergency, wrong_capability or not_primary"
    )
    why: str


class LineOut(Schema):
    index: int
    label: str
    kinds: list[str]
    count: int
    capability: str
    unfilled: int
    mutual_aid: bool
    picks: list[PickOut]
    rejections: list[RejectionOut]
    closer_rejected_total: int


class RecommendationOut(Schema):
    incident: int
    plan: str
    plan_source: str = Field(description="town, statewide or default")
    lat: float
    lon: float
    location_approximate: bool
    primary: dict[str, list[str]] = Field(description="discipline -> primary agency codes")
    unit_ids: list[int] = Field(description="the units to dispatch to accept it")
    lines: list[LineOut]
    model: str = Field(description="how ETAs are estimated")


# --- conversions ---------------------------------------------------------------------------


def _assignment_row_out(row: AssignmentRow) -> UnitAssignmentOut:
    timer = row.timer
    return UnitAssignmentOut(
        assignment=row.id,
        incident=row.incident_id,
        incident_number=row.incident_number,
        status=row.status,
        status_at=row.status_at,
        timer=TimerOut(
            seconds_in_status=timer.seconds,
            warn=timer.warn,
            alarm=timer.alarm,
            threshold=timer.label,
            warn_after_s=timer.warn_after_s,
            alarm_after_s=timer.alarm_after_s,
        )
        if timer is not None
        else None,
    )


def _unit_out(row: BoardRow) -> UnitOut:
    unit = row.unit
    return UnitOut(
        id=unit.pk,
        call_sign=unit.call_sign,
        kind=UnitKind(unit.kind),
        kind_label=unit.get_kind_display(),
        agency=unit.agency.code,
        agency_name=unit.agency.name,
        station=unit.home_station.name if unit.home_station else None,
        capabilities=list(unit.capabilities or []),
        status=row.status,
        home=row.home,
        in_service=unit.in_service,
        out_of_service_reason=unit.out_of_service_reason,
        lat=unit.lat,
        lon=unit.lon,
        position_at=unit.position_at,
        emergency_at=unit.emergency_at,
        committed=_assignment_row_out(row.committed) if row.committed else None,
        reserved=[_assignment_row_out(reserved) for reserved in row.reserved],
    )


def _assignment_out(assignment: Assignment) -> AssignmentOut:
    return AssignmentOut(
        id=assignment.pk,
        incident=assignment.incident_id,
        incident_number=assignment.incident.display_number,
        unit=assignment.unit_id,
        call_sign=assignment.unit.call_sign,
        status=AssignmentStatus(assignment.status),
        status_at=assignment.status_at,
        reserved_at=assignment.reserved_at,
        dispatched_at=assignment.dispatched_at,
        en_route_at=assignment.en_route_at,
        on_scene_at=assignment.on_scene_at,
        transporting_at=assignment.transporting_at,
        at_hospital_at=assignment.at_hospital_at,
        cleared_at=assignment.cleared_at,
        recommended=assignment.recommended,
        override_reason=assignment.override_reason,
    )


def _assignments_out(
    assignments: list[Assignment], incident: Incident, units: list[Unit]
) -> list[AssignmentOut]:
    by_id = {unit.pk: unit for unit in units}
    for assignment in assignments:
        assignment.incident, assignment.unit = incident, by_id[assignment.unit_id]
    return [_assignment_out(assignment) for assignment in assignments]


def _recommendation_out(found: Recommendation, incident_id: int) -> RecommendationOut:
    return RecommendationOut(
        incident=incident_id,
        plan=found.plan.name,
        plan_source=found.plan.source,
        lat=found.lat,
        lon=found.lon,
        location_approximate=found.location_approximate,
        primary=found.primary,
        unit_ids=found.unit_ids,
        model=found.model,
        lines=[
            LineOut(
                index=line.index,
                label=line.label,
                kinds=list(line.kinds),
                count=line.count,
                capability=line.capability,
                unfilled=line.unfilled,
                mutual_aid=line.mutual_aid,
                closer_rejected_total=line.closer_rejected_total,
                picks=[
                    PickOut(unit=pick.unit_id, **_fields(pick._asdict(), exclude={"unit_id"}))
                    for pick in line.picks
                ],
                rejections=[
                    RejectionOut(
                        unit=rejected.unit_id, **_fields(rejected._asdict(), exclude={"unit_id"})
                    )
                    for rejected in line.rejections
                ],
            )
            for line in found.lines
        ],
    )


def _fields(values: dict[str, Any], *, exclude: set[str]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name not in exclude}


def _resolve_units(user: User, names: list[int | str], field: str) -> list[Unit]:
    """Units by id or call sign (any case), in the order given; 422 naming the first unknown."""
    if not units_selectors.may_see_units(user):
        raise DjangoValidationError({f"{field}.0": f"No unit {names[0]!r}."})
    wanted = Q(pk__in=[name for name in names if isinstance(name, int)])
    for name in names:
        if isinstance(name, str):
            wanted |= Q(call_sign__iexact=name.strip())
    found = list(Unit.objects.filter(wanted))
    by_id = {unit.pk: unit for unit in found}
    by_sign = {unit.call_sign.upper(): unit for unit in found}
    result = []
    for position, name in enumerate(names):
        unit = by_id.get(name) if isinstance(name, int) else by_sign.get(name.strip().upper())
        if unit is None:
            raise DjangoValidationError({f"{field}.{position}": f"No unit {name!r}."})
        result.append(unit)
    return result


# --- units ---------------------------------------------------------------------------------


@router.get(
    "/units",
    response=list[UnitOut],
    summary="The unit status board",
    description="Each unit with its derived status (available, committed, out of service), "
    "the incident it is committed to with the time in that status and warn/alarm flags from "
    "the status thresholds, its reservations, and an open emergency. `scope=home` (default): "
    "the caller's units; `scope=all`: mutual aid units too (`home` false, read-only).",
)
def board(request: HttpRequest, query: Query[BoardQuery]) -> list[UnitOut]:
    user = caller(request, Action.INCIDENT_VIEW)
    rows = units_selectors.unit_board(
        user,
        scope=query.scope,
        kinds=[str(kind) for kind in query.kind] if query.kind else None,
        status=query.status,
        agency=query.agency,
        call_sign=query.call_sign,
    )
    audit.record(
        AuditAction.READ,
        request=request,
        user=user,
        object_type="unit",
        object_id="board",
        detail={"units": len(rows)},
    )
    return [_unit_out(row) for row in rows]


@router.get("/units/{unit_id}", response=UnitOut, summary="One unit")
def get_unit(request: HttpRequest, unit_id: int) -> UnitOut:
    user = caller(request, Action.INCIDENT_VIEW)
    row = units_selectors.unit_detail(user, unit_id)
    audit.record(
        AuditAction.READ, request=request, user=user, object_type="unit", object_id=unit_id
    )
    return _unit_out(row)


@router.post(
    "/units/{unit_id}/position",
    response=PositionOut,
    summary="Report a unit's AVL position",
    description="Latitude and longitude are validated (finite, in range). A fix older than "
    "the stored one is ignored (`applied` false). Only the caller's home units.",
)
def post_position(request: HttpRequest, unit_id: int, body: PositionIn) -> PositionOut:
    user = caller(request, Action.UNIT_STATUS)
    unit = units_selectors.unit_for(user, unit_id, home_only=True)
    applied = unit_services.report_position(
        unit, body.lat, body.lon, user, at=body.at, request=request
    )
    if not applied:
        unit.refresh_from_db(fields=["lat", "lon", "position_at"])
    return PositionOut(applied=applied, lat=unit.lat, lon=unit.lon, position_at=unit.position_at)


@router.post(
    "/units/{unit_id}/service",
    response=UnitOut,
    summary="Put a unit in or out of service",
    description="Out of service needs a `reason` and is refused (409) while the unit is "
    "committed unless `force`. Only the caller's home units.",
)
def post_service(request: HttpRequest, unit_id: int, body: ServiceIn) -> UnitOut:
    user = caller(request, Action.UNIT_STATUS)
    unit = units_selectors.unit_for(user, unit_id, home_only=True)
    unit_services.set_in_service(
        unit, body.in_service, user, reason=body.reason, force=body.force, request=request
    )
    return _unit_out(units_selectors.unit_detail(user, unit_id))


@router.post(
    "/units/{unit_id}/emergency",
    response={200: EmergencyOut, 201: EmergencyOut},
    summary="Emergency (panic) button",
    description="201 when this press raised the emergency: a `unit.emergency` event every "
    "console alerts on; 200 when one was already open. Only the caller's home units.",
)
def post_emergency(request: HttpRequest, unit_id: int) -> Status[EmergencyOut]:
    user = caller(request, Action.UNIT_STATUS)
    unit = units_selectors.unit_for(user, unit_id, home_only=True)
    _, raised = unit_services.raise_emergency(unit, user, request=request)
    out = EmergencyOut(raised=raised, unit=_unit_out(units_selectors.unit_detail(user, unit_id)))
    return Status(201 if raised else 200, out)


@router.post(
    "/units/{unit_id}/emergency/ack",
    response=UnitOut,
    summary="Acknowledge a unit's emergency",
    description="By a dispatcher (any unit the caller sees: an emergency alerts every "
    "console). 409 when no emergency is open.",
)
def post_emergency_ack(request: HttpRequest, unit_id: int) -> UnitOut:
    user = caller(request, Action.INCIDENT_DISPATCH)
    unit = units_selectors.unit_for(user, unit_id)
    unit_services.acknowledge_emergency(unit, user, request=request)
    return _unit_out(units_selectors.unit_detail(user, unit_id))


# --- incidents: recommendation and dispatch ------------------------------------------------


@router.get(
    "/incidents/{incident_id}/recommendation",
    response=RecommendationOut,
    summary="Units recommended for an incident, with the reasons",
    description="The response plan (the town's run card for the nature, else statewide, "
    "else the closest unit of the nature's discipline), filled with the closest available "
    "units by ETA, primary agency first and mutual aid only for what it cannot fill. Every "
    "pick says distance, ETA, agency and line; every closer unit not picked says why.",
)
def get_recommendation(request: HttpRequest, incident_id: int) -> RecommendationOut:
    user = caller(request, Action.INCIDENT_VIEW)
    incident = selectors.incident_for(user, incident_id)
    found = recommend(incident)
    audit.record(
        AuditAction.READ,
        request=request,
        user=user,
        object_type="incident",
        object_id=incident.pk,
        detail={"recommendation": [pick.call_sign for pick in found.new_picks]},
    )
    return _recommendation_out(found, incident.pk)


@router.post(
    "/incidents/{incident_id}/dispatch",
    response={201: list[AssignmentOut]},
    summary="Dispatch units to an incident",
    description="Accept the recommendation (send its `unit_ids` as both `units` and "
    "`recommended`), amend it (add or leave out units) or override it (replace recommended "
    "units with others: `override_reason` required, logged as `unit.override`). 409 when a "
    "unit is out of service or committed elsewhere (naming where), unless `reassign`.",
)
def post_dispatch(
    request: HttpRequest, incident_id: int, body: DispatchIn
) -> Status[list[AssignmentOut]]:
    user = caller(request, Action.INCIDENT_DISPATCH)
    incident = selectors.incident_for(user, incident_id)
    units = _resolve_units(user, body.units, "units")
    assignments = assignment_services.dispatch_units(
        incident,
        units,
        user,
        recommended_ids=body.recommended,
        override_reason=body.override_reason,
        reassign=body.reassign,
        request=request,
    )
    return Status(201, _assignments_out(assignments, incident, units))


@router.post(
    "/incidents/{incident_id}/reserve",
    response={201: list[AssignmentOut]},
    summary="Reserve units for a scheduled incident",
    description="Reserved units stay available until the incident is dispatched (then the "
    "reservation becomes the dispatch). 409 when the incident is not scheduled.",
)
def post_reserve(
    request: HttpRequest, incident_id: int, body: ReserveIn
) -> Status[list[AssignmentOut]]:
    user = caller(request, Action.INCIDENT_DISPATCH)
    incident = selectors.incident_for(user, incident_id)
    units = _resolve_units(user, body.units, "units")
    assignments = assignment_services.reserve_units(incident, units, user, request=request)
    return Status(201, _assignments_out(assignments, incident, units))


# --- assignments ---------------------------------------------------------------------------


@router.post(
    "/assignments/{assignment_id}/status",
    response=AssignmentOut,
    summary="Change a unit's status on one incident",
    description="By the transition table (reserved, dispatched, en route, on scene, "
    "transporting, at hospital, cleared). Changes this assignment only; 409 with the table's "
    "explanation for a transition it does not allow.",
)
def post_status(request: HttpRequest, assignment_id: int, body: StatusIn) -> AssignmentOut:
    user = caller(request, Action.UNIT_STATUS)
    assignment = units_selectors.assignment_for(user, assignment_id)
    changed = assignment_services.change_status(
        assignment, body.status, user, at=body.at, reason=body.reason, request=request
    )
    return _assignment_out(changed)


@router.post(
    "/assignments/{assignment_id}/clear",
    response=AssignmentOut,
    summary="Clear a unit from an incident",
)
def post_clear(
    request: HttpRequest, assignment_id: int, body: ClearIn | None = None
) -> AssignmentOut:
    user = caller(request, Action.UNIT_STATUS)
    assignment = units_selectors.assignment_for(user, assignment_id)
    changed = assignment_services.clear_unit(
        assignment,
        user,
        reason=body.reason if body else "",
        at=body.at if body else None,
        request=request,
    )
    return _assignment_out(changed)
