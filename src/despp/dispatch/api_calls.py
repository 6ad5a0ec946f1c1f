"""/api/dispatch: 911 calls, the callback queue, incidents, the location type-ahead and the
nature codes. Thin: validation of shapes here (pydantic), of meaning in the services; reads
through selectors (another PSAP's call or incident is a 404).

Permissions: taking and handling calls `call.create`; reading calls `call.view`; creating,
linking, merging, splitting, annotating and closing incidents `incident.update` (a call-taker
opens the incident of a call through POST /calls with `nature`); reading incidents, places and
nature codes `incident.view`. Every read of a call or incident is in the access audit.
"""

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from pydantic import AwareDatetime, ConfigDict, Field

from despp.core import audit
from despp.core.api_auth import staff_auth
from despp.core.api_geography import LocateOut
from despp.core.jurisdiction import Jurisdiction, ReferenceNotLoadedError
from despp.core.models import Agency, AuditAction, AuditOutcome, Event, User
from despp.core.permissions import Action, require
from despp.core.scoping import visible_agency_ids
from despp.dispatch import selectors
from despp.dispatch.duplicates import DuplicateCandidate
from despp.dispatch.geo_search import search_places
from despp.dispatch.models import (
    Assignment,
    Call,
    Caution,
    ClassOfService,
    Discipline,
    Incident,
)
from despp.dispatch.services import calls as call_services
from despp.dispatch.services import incidents as incident_services

router = Router(auth=staff_auth, tags=["dispatch: calls and incidents"])


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


def _user(request: HttpRequest, action: Action) -> User:
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # staff_auth only ever yields a User; fail closed regardless
        raise AuthenticationError()
    require(user, action, request=request)
    return user


def _psap(code: str | None, field: str) -> Agency | None:
    if code is None:
        return None
    found = Agency.objects.filter(code=code).first()
    if found is None:
        raise DjangoValidationError({field: f"{code!r} is not a known agency"})
    return found


def _own_psap(request: HttpRequest, user: User, code: str | None, field: str) -> Agency | None:
    """A PSAP named explicitly must be one the caller's agency covers (statewide.view: any);
    a call routed by its location may go to any PSAP, as the 911 network routes it."""
    psap = _psap(code, field)
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

_LAT = Field(None, ge=-90, le=90, allow_inf_nan=False, description="WGS84 degrees")
_LON = Field(None, ge=-180, le=180, allow_inf_nan=False, description="WGS84 degrees")


class CallIn(_In):
    source_ref: str = Field(
        "", max_length=64, description="the sender's id; a retry with it returns the first call"
    )
    psap: str | None = Field(
        None, max_length=60, description="PSAP agency code; omitted: the PSAP serving the place"
    )
    callback_number: str = Field("", max_length=20)
    class_of_service: ClassOfService
    lat: float | None = _LAT
    lon: float | None = _LON
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


class EventOut(Schema):
    seq: int
    position: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]


class LinkOut(Schema):
    incident: int
    number: str
    reason: str


class IncidentDetailOut(IncidentOut):
    call_list: list[CallOut]
    cautions: list[CautionOut]
    links: list[LinkOut]
    timeline: list[EventOut]


_UNKNOWN = object()


def _call_out(call: Call, names: dict[str, Any] | None = None) -> CallOut:
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


def _units(incident: Incident, assignments: list[Assignment] | None = None) -> list[Any]:
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


def _incident_fields(
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


def _incident_out(incident: Incident, names: dict[str, Any] | None = None) -> IncidentOut:
    """`names` given: an incident just made by intake (one call, no units yet), described
    without a query."""
    if names is not None:
        return IncidentOut(**_incident_fields(incident, 1, [], names))
    calls = len(incident.calls.all())  # prefetched in lists
    return IncidentOut(**_incident_fields(incident, calls, _units(incident)))


def _caution_out(caution: Caution) -> CautionOut:
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


def _event_out(event: Event) -> EventOut:
    return EventOut(
        seq=event.seq,
        position=event.position,
        at=event.at,
        actor=event.actor_name,
        kind=event.kind,
        data=event.data or {},
    )


def _jurisdiction_out(answer: Jurisdiction) -> dict[str, Any]:
    return {name: getattr(answer, name) for name in LocateOut.model_fields}


def _duplicate_out(candidate: DuplicateCandidate) -> DuplicateOut:
    incident = candidate.incident
    return DuplicateOut(
        incident=IncidentOut(**_incident_fields(incident, 0, [])),
        distance_m=candidate.distance_m,
        minutes_before=candidate.minutes_before,
    )


def _read_audit(request: HttpRequest, object_type: str, object_id: object) -> None:
    audit.record(AuditAction.READ, request=request, object_type=object_type, object_id=object_id)


# --- calls ---------------------------------------------------------------------------------


@router.post(
    "/calls",
    response={200: IntakeOut, 201: IntakeOut},
    summary="Receive a 911 call (and open or join its incident)",
    description="201 with the call, the jurisdiction answer (town, troop or police agency, "
    "PSAP; explicit when out of state), the incident opened (with `nature`) or joined "
    "(`attach_to`), duplicate candidates (open incidents nearby: then no incident is opened "
    "unless `new_incident`), and cautions near the location. A retry with a known "
    "`source_ref` answers 200 with the first call, writing nothing.",
)
def post_call(request: HttpRequest, body: CallIn) -> Status[IntakeOut]:
    user = _user(request, Action.CALL_CREATE)
    attach_to = selectors.incident_for(user, body.attach_to) if body.attach_to else None
    try:
        intake = call_services.intake_call(
            psap=_own_psap(request, user, body.psap, "psap"),
            callback_number=body.callback_number,
            class_of_service=body.class_of_service,
            lat=body.lat,
            lon=body.lon,
            uncertainty_m=body.uncertainty_m,
            civic_address=body.civic_address,
            location_text=body.location_text,
            place_id=body.place_id,
            town=body.town,
            received_at=body.received_at,
            answered_at=body.answered_at,
            call_taker=user,
            source_ref=body.source_ref,
            description=body.description,
            request=request,
            nature=body.nature,
            priority=body.priority,
            attach_to=attach_to,
            new_incident=body.new_incident,
        )
    except ReferenceNotLoadedError as exc:
        raise HttpError(503, str(exc)) from exc
    call = intake.call
    names = _intake_names(intake)
    fresh = intake.created and attach_to is None
    out = IntakeOut(
        call=_call_out(call, names if intake.created else None),
        jurisdiction=LocateOut(**_jurisdiction_out(intake.answer)),
        incident=_incident_out(intake.incident, names if fresh else None)
        if intake.incident is not None
        else None,
        duplicates=[_duplicate_out(candidate) for candidate in intake.duplicates],
        cautions=[_caution_out(caution) for caution in intake.cautions],
    )
    return Status(201 if intake.created else 200, out)


def _intake_names(intake: call_services.Intake) -> dict[str, Any]:
    answer = intake.answer
    return {
        "psap": call_services.answer_psap_code(intake.call, answer),
        "town": answer.town,
        "police_agency": answer.police_agency,
    }


@router.get("/calls/{call_id}", response=CallOut, summary="One call")
def get_call(request: HttpRequest, call_id: int) -> CallOut:
    user = _user(request, Action.CALL_VIEW)
    call = selectors.call_for(user, call_id)
    _read_audit(request, "call", call.pk)
    return _call_out(call)


class AtIn(_In):
    at: AwareDatetime | None = Field(None, description="when; default now")


@router.post("/calls/{call_id}/answer", response=CallOut, summary="Answer a ringing call")
def answer(request: HttpRequest, call_id: int, body: AtIn | None = None) -> CallOut:
    user = _user(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    at = body.at if body else None
    return _call_out(_reload(user, call_services.answer_call(call, user, at=at, request=request)))


@router.post("/calls/{call_id}/release", response=CallOut, summary="Release an answered call")
def release(request: HttpRequest, call_id: int, body: AtIn | None = None) -> CallOut:
    user = _user(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    at = body.at if body else None
    return _call_out(_reload(user, call_services.release_call(call, user, at=at, request=request)))


@router.post(
    "/calls/{call_id}/abandon",
    response=CallOut,
    summary="Mark a call abandoned (it joins the callback queue)",
)
def abandon(request: HttpRequest, call_id: int, body: AtIn | None = None) -> CallOut:
    user = _user(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    at = body.at if body else None
    return _call_out(_reload(user, call_services.abandon_call(call, user, at=at, request=request)))


class TransferIn(_In):
    to_psap: str = Field(..., max_length=60, description="the receiving PSAP's agency code")
    reason: str = Field(..., max_length=200)


@router.post("/calls/{call_id}/transfer", response=CallOut, summary="Transfer to another PSAP")
def transfer(request: HttpRequest, call_id: int, body: TransferIn) -> CallOut:
    user = _user(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    to_psap = _psap(body.to_psap, "to_psap")
    assert to_psap is not None  # noqa: S101 - _psap returns an agency for a code
    done = call_services.transfer_call(call, to_psap, body.reason, user, request=request)
    return _call_out(_reload(user, done))


class CallbackIn(_In):
    outcome: Literal["reached", "no_answer", "unreachable"]
    note: str = Field("", max_length=200, description="required when unreachable")


@router.post("/calls/{call_id}/callback", response=CallOut, summary="Record a callback attempt")
def callback(request: HttpRequest, call_id: int, body: CallbackIn) -> CallOut:
    user = _user(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    done = call_services.record_callback(call, body.outcome, user, note=body.note, request=request)
    return _call_out(_reload(user, done))


class AttachIn(_In):
    incident: int = Field(..., ge=1)


@router.post(
    "/calls/{call_id}/attach", response=CallOut, summary="Attach a call to an open incident"
)
def attach(request: HttpRequest, call_id: int, body: AttachIn) -> CallOut:
    user = _user(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    incident = selectors.incident_for(user, body.incident)
    incident_services.attach_call(call, incident, user, request=request)
    return _call_out(_reload(user, call))


def _reload(user: User, call: Call) -> Call:
    return selectors.call_for(user, call.pk)


@router.get(
    "/callbacks",
    response=list[CallOut],
    summary="The callback queue: abandoned calls waiting for a callback, oldest first",
)
def callbacks(request: HttpRequest) -> list[CallOut]:
    user = _user(request, Action.CALL_VIEW)
    queue = list(selectors.callback_queue(user)[:500])
    audit.record(
        AuditAction.SEARCH, request=request, object_type="call", detail={"callbacks": len(queue)}
    )
    return [_call_out(call) for call in queue]


# --- incidents -----------------------------------------------------------------------------


class IncidentIn(_In):
    nature: str = Field(..., max_length=12)
    source: Literal["call", "officer", "scheduled"] | None = None
    call_id: int | None = Field(None, ge=1, description="open the incident of this call")
    psap: str | None = Field(None, max_length=60)
    lat: float | None = _LAT
    lon: float | None = _LON
    place_id: int | None = Field(None, ge=1)
    town: str | None = Field(None, max_length=60)
    location_text: str = Field("", max_length=200)
    priority: int | None = Field(None, ge=1, le=5)
    scheduled_for: AwareDatetime | None = None


@router.post(
    "/incidents",
    response={201: IncidentDetailOut},
    summary="Open an incident: from a call, officer-initiated, or scheduled",
)
def post_incident(request: HttpRequest, body: IncidentIn) -> Status[IncidentDetailOut]:
    user = _user(request, Action.INCIDENT_UPDATE)
    call = selectors.call_for(user, body.call_id) if body.call_id else None
    incident = incident_services.create_incident(
        nature=body.nature,
        user=user,
        call=call,
        source=body.source,
        psap=_own_psap(request, user, body.psap, "psap"),
        lat=body.lat,
        lon=body.lon,
        place_id=body.place_id,
        town=body.town,
        location_text=body.location_text,
        priority=body.priority,
        scheduled_for=body.scheduled_for,
        request=request,
    )
    return Status(201, _detail(user, incident.pk, request, audit_read=False))


class IncidentQuery(Schema):
    psap: str | None = Field(None, max_length=60)
    discipline: Discipline | None = None
    nature: str | None = Field(None, max_length=12)
    priority: int | None = Field(None, ge=1, le=5)
    town: str | None = Field(None, max_length=60)
    status: Literal["pending", "active"] | None = None


@router.get("/incidents", response=list[IncidentOut], summary="Open incidents, most urgent first")
def list_incidents(request: HttpRequest, query: Query[IncidentQuery]) -> list[IncidentOut]:
    user = _user(request, Action.INCIDENT_VIEW)
    incidents = list(
        selectors.open_incidents(
            user,
            psap=query.psap,
            discipline=query.discipline,
            nature=query.nature,
            priority=query.priority,
            town=query.town,
            status=query.status,
        )[:1000]
    )
    audit.record(
        AuditAction.SEARCH,
        request=request,
        object_type="incident",
        detail={**query.dict(exclude_none=True), "found": len(incidents)},
    )
    return [_incident_out(incident) for incident in incidents]


def _detail(
    user: User, incident_id: int, request: HttpRequest, *, audit_read: bool = True
) -> IncidentDetailOut:
    detail = selectors.incident_detail(user, incident_id)
    if audit_read:
        _read_audit(request, "incident", incident_id)
    incident = detail.incident
    return IncidentDetailOut(
        **_incident_fields(incident, len(detail.calls), _units(incident, detail.assignments)),
        call_list=[_call_out(call) for call in detail.calls],
        cautions=[_caution_out(caution) for caution in detail.cautions],
        links=[LinkOut(**link) for link in detail.links],
        timeline=[_event_out(event) for event in detail.timeline],
    )


@router.get(
    "/incidents/{incident_id}",
    response=IncidentDetailOut,
    summary="One incident with its calls, units, cautions, links and timeline",
)
def get_incident(request: HttpRequest, incident_id: int) -> IncidentDetailOut:
    user = _user(request, Action.INCIDENT_VIEW)
    return _detail(user, incident_id, request)


class LinkIn(_In):
    other: int = Field(..., ge=1)
    reason: str = Field(..., max_length=200)


@router.post(
    "/incidents/{incident_id}/link",
    response=IncidentDetailOut,
    summary="Record another incident as related",
)
def link(request: HttpRequest, incident_id: int, body: LinkIn) -> IncidentDetailOut:
    user = _user(request, Action.INCIDENT_UPDATE)
    incident = selectors.incident_for(user, incident_id)
    other = selectors.incident_for(user, body.other)
    incident_services.link_incidents(incident, other, body.reason, user, request=request)
    return _detail(user, incident_id, request, audit_read=False)


class MergeIn(_In):
    into: int = Field(..., ge=1, description="the incident that absorbs this one")
    reason: str = Field("", max_length=200)


@router.post(
    "/incidents/{incident_id}/merge",
    response=IncidentDetailOut,
    summary="Merge this incident into another (calls and units move); returns the target",
)
def merge(request: HttpRequest, incident_id: int, body: MergeIn) -> IncidentDetailOut:
    user = _user(request, Action.INCIDENT_UPDATE)
    source = selectors.incident_for(user, incident_id)
    target = selectors.incident_for(user, body.into)
    done = incident_services.merge_incidents(
        source, target, user, reason=body.reason, request=request
    )
    return _detail(user, done.pk, request, audit_read=False)


class SplitIn(_In):
    calls: list[int] = Field(..., min_length=1, max_length=100)
    nature: str | None = Field(None, max_length=12)
    reason: str = Field("", max_length=200)


@router.post(
    "/incidents/{incident_id}/split",
    response={201: IncidentDetailOut},
    summary="Move some calls to a new incident; returns the new incident",
)
def split(request: HttpRequest, incident_id: int, body: SplitIn) -> Status[IncidentDetailOut]:
    user = _user(request, Action.INCIDENT_UPDATE)
    incident = selectors.incident_for(user, incident_id)
    new = incident_services.split_incident(
        incident, body.calls, user, nature=body.nature, reason=body.reason, request=request
    )
    return Status(201, _detail(user, new.pk, request, audit_read=False))


class NoteIn(_In):
    text: str = Field(..., max_length=2000)


@router.post(
    "/incidents/{incident_id}/notes",
    response={201: EventOut},
    summary="Add narrative to the timeline",
)
def note(request: HttpRequest, incident_id: int, body: NoteIn) -> Status[EventOut]:
    user = _user(request, Action.INCIDENT_UPDATE)
    incident = selectors.incident_for(user, incident_id)
    incident_services.add_note(incident, body.text, user, request=request)
    return Status(201, _event_out(selectors.incident_timeline(incident)[-1]))


class CloseIn(_In):
    disposition: str = Field(..., max_length=12)
    note: str = Field("", max_length=2000)


@router.post(
    "/incidents/{incident_id}/close",
    response=IncidentDetailOut,
    summary="Close with a disposition (409 while units are still on it)",
)
def close(request: HttpRequest, incident_id: int, body: CloseIn) -> IncidentDetailOut:
    user = _user(request, Action.INCIDENT_UPDATE)
    incident = selectors.incident_for(user, incident_id)
    incident_services.close_incident(
        incident, body.disposition, user, note=body.note, request=request
    )
    return _detail(user, incident_id, request, audit_read=False)


# --- reference: places and nature codes -----------------------------------------------------


class PlaceOut(Schema):
    kind: str
    label: str
    lat: float | None
    lon: float | None
    place_id: int | None
    note: str
    jurisdiction: LocateOut


class PlacesQuery(Schema):
    q: str = Field(..., min_length=1, max_length=100)
    limit: int = Field(10, ge=1, le=50)


@router.get(
    "/places",
    response=list[PlaceOut],
    summary="Location type-ahead: coordinates, mile markers, towns, common places",
    description="Every candidate is validated against the shipped geography and carries its "
    "jurisdiction answer. Pick one and send its `place_id` (or its lat/lon, or the town) with "
    "what was typed as `location_text`; the typed text is kept, never replaced.",
)
def places(request: HttpRequest, query: Query[PlacesQuery]) -> list[PlaceOut]:
    _user(request, Action.INCIDENT_VIEW)
    return [
        PlaceOut(
            kind=candidate.kind,
            label=candidate.label,
            lat=candidate.lat,
            lon=candidate.lon,
            place_id=candidate.place_id,
            note=candidate.note,
            jurisdiction=LocateOut(**_jurisdiction_out(candidate.answer)),
        )
        for candidate in search_places(query.q, query.limit)
    ]


class NatureOut(Schema):
    code: str
    label: str
    description: str
    discipline: str
    default_priority: int
    apco_registry: bool


@router.get(
    "/nature-codes",
    response=list[NatureOut],
    summary="Nature codes (APCO common incident types) with discipline and default priority",
)
def nature_codes(request: HttpRequest) -> list[Any]:
    _user(request, Action.INCIDENT_VIEW)
    return list(selectors.nature_codes())
