"""What the call and incident API modules share: the caller and PSAP checks, the request
and response schemas, and the functions that turn calls, incidents, cautions and events into
them without extra queries (intake passes the names it already knows)."""

from datetime import datetime
from typing import Annotated, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from ninja import Schema
from ninja.errors import AuthenticationError
from pydantic import AwareDatetime, ConfigDict, Field

from despp.core import audit
from despp.core.api_geography import LocateOut
from despp.core.jurisdiction import Jurisdiction
from despp.core.models import Agency, AgencyKind, AuditAction, AuditOutcome, Event, User
from despp.core.permissions import Action, require
from despp.core.scoping import visible_agency_ids
from despp.dispatch.duplicates import DuplicateCandidate
from despp.dispatch.geo_search import town_answers
from despp.dispatch.models import (
    Assignment,
    Call,
    Caution,
    ClassOfService,
    Incident,
)


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


def caller(request: HttpRequest, action: Action) -> User:
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # staff_auth only ever yields a User; fail closed regardless
        raise AuthenticationError()
    require(user, action, request=request)
    return user


def agency_by_code(code: str | None, field: str) -> Agency | None:
    if code is None:
        return None
    found = Agency.objects.filter(code=code).first()
    if found is None:
        raise DjangoValidationError({field: f"{code!r} is not a known agency"})
    return found


def own_psap(request: HttpRequest, user: User, code: str | None, field: str) -> Agency | None:
    """A PSAP named explicitly must be one the caller's agency covers (statewide.view: any);
    a call routed by its location may go to any PSAP, as the 911 network routes it."""
    psap = agency_by_code(code, field)
    if psap is not None and (psap.kind != AgencyKind.PSAP or not psap.active):
        raise DjangoValidationError({field: f"{psap.code} is not an active PSAP"})
    visible = visible_agency_ids(user)
    if psap is not None and visible is not None and psap.pk not in visible:
        audit.record(
            AuditAction.DENIED,
            request=request,
            object_type="agency",
            object_id=psap.code,
            outcome=AuditOutcome.FAILURE,
        )
        raise PermissionDenied(f"{field}: you do not take calls for {psap.code}")
    return psap


# --- schemas -------------------------------------------------------------------------------

LAT_FIELD = Field(None, ge=-90, le=90, allow_inf_nan=False, description="WGS84 degrees")
LON_FIELD = Field(None, ge=-180, le=180, allow_inf_nan=False, description="WGS84 degrees")


class CallIn(StrictIn):
    source_ref: str = Field(
        "", max_length=64, description="the sender's id; a retry with it returns the first call"
    )
    psap: str | None = Field(
        None, max_length=60, description="PSAP agency code; omitted: the PSAP serving the place"
    )
    callback_number: str = Field("", max_length=20)
    class_of_service: ClassOfService
    lat: float | None = LAT_FIELD
    lon: float | None = LON_FIELD
    uncertainty_m: int | None = Field(None, ge=0, le=100_000, description="radius, metres")
    civic_address: str = Field("", max_length=200)
    location_text: str = Field("", max_length=200, description="what the call-taker typed")
    place_id: int | None = Field(None, ge=1, description="a common place or mile marker")
    town: str | None = Field(None, max_length=60, description="town picked for a civic address")
    received_at: AwareDatetime | None = None
    answered_at: AwareDatetime | None = None
    description: str = Field("", max_length=400)
    nature: str | None = Field(None, max_length=12, description="nature code: opens an incident")
    priority: int | None = Field(None, ge=1, le=5, description="overrides the nature's default")
    attach_to: int | None = Field(None, ge=1, description="join this open incident instead")
    new_incident: bool = Field(False, description="open an incident even if duplicates exist")
    persons: list[Annotated[str, Field(min_length=1, max_length=160)]] = Field(
        default_factory=list, max_length=10, description="people named: their cautions shown"
    )


class CallOut(Schema):
    id: int
    psap: str
    source_ref: str
    callback_number: str
    class_of_service: str
    status: str
    lat: float | None
    lon: float | None
    uncertainty_m: int | None
    civic_address: str
    location_text: str
    place_id: int | None
    place: str | None
    town: str | None
    in_state: bool
    received_at: datetime
    answered_at: datetime | None
    released_at: datetime | None
    transferred_at: datetime | None
    transferred_to: str | None
    transfer_reason: str
    callback_status: str
    callback_attempts: int
    incident_id: int | None
    incident_number: str | None
    description: str


class CautionOut(Schema):
    id: int
    kind: str
    text: str
    address_text: str
    person_name: str
    lat: float | None
    lon: float | None
    radius_m: int


class UnitOnIncidentOut(Schema):
    assignment_id: int
    unit_id: int
    call_sign: str
    kind: str
    status: str
    status_at: datetime


class IncidentOut(Schema):
    id: int
    number: str
    psap: str
    nature: str
    nature_label: str
    discipline: str
    priority: int
    status: str
    source: str
    lat: float | None
    lon: float | None
    location_text: str
    town: str | None
    police_agency: str | None
    created_at: datetime
    scheduled_for: datetime | None
    closed_at: datetime | None
    disposition: str | None
    merged_into: int | None
    calls: int
    units: list[UnitOnIncidentOut]


class DuplicateOut(Schema):
    incident: IncidentOut
    distance_m: float
    minutes_before: float


class IntakeOut(Schema):
    call: CallOut
    jurisdiction: LocateOut
    incident: IncidentOut | None
    duplicates: list[DuplicateOut]
    cautions: list[CautionOut]


class TimelineEventOut(Schema):
    seq: int
    position: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]


class IncidentLinkOut(Schema):
    incident: int
    number: str
    reason: str


class IncidentDetailOut(IncidentOut):
    call_list: list[CallOut]
    cautions: list[CautionOut]
    links: list[IncidentLinkOut]
    timeline: list[TimelineEventOut]


_UNKNOWN = object()


def call_out(call: Call, names: dict[str, Any] | None = None) -> CallOut:
    """`names`: psap / town codes already known (intake), so no query fetches them."""
    names = names or {}
    incident = call.incident if call.incident_id is not None else None
    town = names.get("town", _UNKNOWN)
    if town is _UNKNOWN:
        town = call.town.name if call.town else None
    return CallOut(
        id=call.pk,
        psap=names.get("psap") or call.psap.code,
        source_ref=call.source_ref,
        callback_number=call.callback_number,
        class_of_service=call.class_of_service,
        status=call.status,
        lat=call.lat,
        lon=call.lon,
        uncertainty_m=call.uncertainty_m,
        civic_address=call.civic_address,
        location_text=call.location_text,
        place_id=call.place_id,
        place=call.place.name if call.place_id is not None and call.place else None,
        town=town,
        in_state=call.in_state,
        received_at=call.received_at,
        answered_at=call.answered_at,
        released_at=call.released_at,
        transferred_at=call.transferred_at,
        transferred_to=call.transferred_to.code if call.transferred_to_id else None,  # type: ignore[union-attr]
        transfer_reason=call.transfer_reason,
        callback_status=call.callback_status,
        callback_attempts=call.callback_attempts,
        incident_id=call.incident_id,
        incident_number=incident.display_number if incident is not None else None,
        description=call.description,
    )


def units_out(incident: Incident, assignments: list[Assignment] | None = None) -> list[Any]:
    rows = assignments if assignments is not None else list(incident.assignments.all())
    return [
        UnitOnIncidentOut(
            assignment_id=a.pk,
            unit_id=a.unit_id,
            call_sign=a.unit.call_sign,
            kind=a.unit.kind,
            status=a.status,
            status_at=a.status_at,
        )
        for a in rows
    ]


def incident_fields(
    incident: Incident, calls: int, units: list[Any], names: dict[str, Any] | None = None
) -> dict[str, Any]:
    names = names or {}
    town = names.get("town", _UNKNOWN)
    if town is _UNKNOWN:
        town = incident.town.name if incident.town else None
    police = names.get("police_agency", _UNKNOWN)
    if police is _UNKNOWN:
        police = incident.police_agency.code if incident.police_agency else None
    fields = {
        "id": incident.pk,
        "number": incident.display_number,
        "psap": names.get("psap") or incident.psap.code,
        "nature": incident.nature.code,
        "nature_label": incident.nature.label,
        "discipline": incident.nature.discipline,
        "priority": incident.priority,
        "status": incident.status,
        "source": incident.source,
        "lat": incident.lat,
        "lon": incident.lon,
        "location_text": incident.location_text,
        "town": town,
        "police_agency": police,
        "created_at": incident.created_at,
        "scheduled_for": incident.scheduled_for,
        "closed_at": incident.closed_at,
        "disposition": incident.disposition.code
        if incident.disposition_id and incident.disposition
        else None,
        "merged_into": incident.merged_into_id,
        "calls": calls,
        "units": units,
    }
    return fields


def incident_out(incident: Incident, names: dict[str, Any] | None = None) -> IncidentOut:
    """`names` given: an incident just made by intake (one call, no units yet), described
    without a query."""
    if names is not None:
        return IncidentOut(**incident_fields(incident, 1, [], names))
    calls = len(incident.calls.all())  # prefetched in lists
    return IncidentOut(**incident_fields(incident, calls, units_out(incident)))


def caution_out(caution: Caution) -> CautionOut:
    return CautionOut(
        id=caution.pk,
        kind=caution.kind,
        text=caution.text,
        address_text=caution.address_text,
        person_name=caution.person_name,
        lat=caution.lat,
        lon=caution.lon,
        radius_m=caution.radius_m,
    )


def event_out(event: Event) -> TimelineEventOut:
    return TimelineEventOut(
        seq=event.seq,
        position=event.position,
        at=event.at,
        actor=event.actor_name,
        kind=event.kind,
        data=event.data or {},
    )


def jurisdiction_out(answer: Jurisdiction) -> dict[str, Any]:
    return {name: getattr(answer, name) for name in LocateOut.model_fields}


def duplicate_out(candidate: DuplicateCandidate, psap: str) -> DuplicateOut:
    """A candidate of the caller's PSAP, its town and police agency named from the
    jurisdiction index (no query per candidate)."""
    incident = candidate.incident
    answer = town_answers().by_id.get(incident.town_id) if incident.town_id else None
    names = {
        "psap": psap,
        "town": answer.town if answer else None,
        "police_agency": answer.police_agency if answer else None,
    }
    return DuplicateOut(
        incident=IncidentOut(**incident_fields(incident, 0, [], names)),
        distance_m=candidate.distance_m,
        minutes_before=candidate.minutes_before,
    )


def read_audit(request: HttpRequest, object_type: str, object_id: object) -> None:
    audit.record(AuditAction.READ, request=request, object_type=object_type, object_id=object_id)
