"""/api/dispatch incidents: POST /incidents (from a call, officer-initiated, scheduled),
GET /incidents (open, filtered), GET /incidents/{id} (calls, units, cautions, links, timeline),
link / merge / split / notes / close; GET /places (the location type-ahead) and GET
/nature-codes. Mounted on api_calls.router; the permissions are listed there."""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import AwareDatetime, Field

from despp.core import audit
from despp.core.api_auth import staff_auth
from despp.core.api_geography import LocateOut
from despp.core.models import AuditAction, User
from despp.core.permissions import Action
from despp.dispatch import selectors
from despp.dispatch.api_calls_support import (
    LAT_FIELD,
    LON_FIELD,
    IncidentDetailOut,
    IncidentLinkOut,
    IncidentOut,
    StrictIn,
    TimelineEventOut,
    call_out,
    caller,
    caution_out,
    event_out,
    incident_fields,
    incident_out,
    jurisdiction_out,
    own_psap,
    read_audit,
    units_out,
)
from despp.dispatch.geo_search import search_places
from despp.dispatch.models import (
    Discipline,
)
from despp.dispatch.services import incidents as incident_services

router = Router(auth=staff_auth, tags=["dispatch: incidents"])


# --- incidents -----------------------------------------------------------------------------


class IncidentIn(StrictIn):
    nature: str = Field(..., max_length=12)
    source: Literal["call", "officer", "scheduled"] | None = None
    call_id: int | None = Field(None, ge=1, description="open the incident of this call")
    psap: str | None = Field(None, max_length=60)
    lat: float | None = LAT_FIELD
    lon: float | None = LON_FIELD
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
    user = caller(request, Action.INCIDENT_UPDATE)
    call = selectors.call_for(user, body.call_id) if body.call_id else None
    incident = incident_services.create_incident(
        nature=body.nature,
        user=user,
        call=call,
        source=body.source,
        psap=own_psap(request, user, body.psap, "psap"),
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
    user = caller(request, Action.INCIDENT_VIEW)
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
    return [incident_out(incident) for incident in incidents]


def _detail(
    user: User, incident_id: int, request: HttpRequest, *, audit_read: bool = True
) -> IncidentDetailOut:
    detail = selectors.incident_detail(user, incident_id)
    if audit_read:
        read_audit(request, "incident", incident_id)
    incident = detail.incident
    return IncidentDetailOut(
        **incident_fields(incident, len(detail.calls), units_out(incident, detail.assignments)),
        call_list=[call_out(call) for call in detail.calls],
        cautions=[caution_out(caution) for caution in detail.cautions],
        links=[IncidentLinkOut(**link) for link in detail.links],
        timeline=[event_out(event) for event in detail.timeline],
    )


@router.get(
    "/incidents/{incident_id}",
    response=IncidentDetailOut,
    summary="One incident with its calls, units, cautions, links and timeline",
)
def get_incident(request: HttpRequest, incident_id: int) -> IncidentDetailOut:
    user = caller(request, Action.INCIDENT_VIEW)
    return _detail(user, incident_id, request)


class PlaybackQuery(Schema):
    at: AwareDatetime | None = Field(None, description="the moment; omitted: after the last event")


class PlaybackOut(Schema):
    at: datetime | None
    events: int
    number: str
    status: str
    nature: str
    priority: int | None
    location_text: str
    calls: list[int]
    units: dict[str, str]
    notes: list[str]
    links: list[Any]
    merged_into: int | None
    disposition: str


@router.get(
    "/incidents/{incident_id}/playback",
    response=PlaybackOut,
    summary="The incident as its timeline says it was at a moment (rebuilt from its events)",
)
def playback(request: HttpRequest, incident_id: int, query: Query[PlaybackQuery]) -> Any:
    user = caller(request, Action.INCIDENT_VIEW)
    incident = selectors.incident_for(user, incident_id)
    read_audit(request, "incident", incident.pk)
    return selectors.incident_playback(incident, query.at)


class IncidentLinkIn(StrictIn):
    other: int = Field(..., ge=1)
    reason: str = Field(..., max_length=200)


@router.post(
    "/incidents/{incident_id}/link",
    response=IncidentDetailOut,
    summary="Record another incident as related",
)
def link(request: HttpRequest, incident_id: int, body: IncidentLinkIn) -> IncidentDetailOut:
    user = caller(request, Action.INCIDENT_UPDATE)
    incident = selectors.incident_for(user, incident_id)
    other = selectors.incident_for(user, body.other)
    incident_services.link_incidents(incident, other, body.reason, user, request=request)
    return _detail(user, incident_id, request, audit_read=False)


class IncidentMergeIn(StrictIn):
    into: int = Field(..., ge=1, description="the incident that absorbs this one")
    reason: str = Field("", max_length=200)


@router.post(
    "/incidents/{incident_id}/merge",
    response=IncidentDetailOut,
    summary="Merge this incident into another (calls and units move); returns the target",
)
def merge(request: HttpRequest, incident_id: int, body: IncidentMergeIn) -> IncidentDetailOut:
    user = caller(request, Action.INCIDENT_UPDATE)
    source = selectors.incident_for(user, incident_id)
    target = selectors.incident_for(user, body.into)
    done = incident_services.merge_incidents(
        source, target, user, reason=body.reason, request=request
    )
    return _detail(user, done.pk, request, audit_read=False)


class IncidentSplitIn(StrictIn):
    calls: list[int] = Field(..., min_length=1, max_length=100)
    nature: str | None = Field(None, max_length=12)
    reason: str = Field("", max_length=200)


@router.post(
    "/incidents/{incident_id}/split",
    response={201: IncidentDetailOut},
    summary="Move some calls to a new incident; returns the new incident",
)
def split(
    request: HttpRequest, incident_id: int, body: IncidentSplitIn
) -> Status[IncidentDetailOut]:
    user = caller(request, Action.INCIDENT_UPDATE)
    incident = selectors.incident_for(user, incident_id)
    new = incident_services.split_incident(
        incident, body.calls, user, nature=body.nature, reason=body.reason, request=request
    )
    return Status(201, _detail(user, new.pk, request, audit_read=False))


class IncidentNoteIn(StrictIn):
    text: str = Field(..., max_length=2000)


@router.post(
    "/incidents/{incident_id}/notes",
    response={201: TimelineEventOut},
    summary="Add narrative to the timeline",
)
def note(request: HttpRequest, incident_id: int, body: IncidentNoteIn) -> Status[TimelineEventOut]:
    user = caller(request, Action.INCIDENT_UPDATE)
    incident = selectors.incident_for(user, incident_id)
    incident_services.add_note(incident, body.text, user, request=request)
    return Status(201, event_out(selectors.incident_timeline(incident)[-1]))


class IncidentCloseIn(StrictIn):
    disposition: str = Field(..., max_length=12)
    note: str = Field("", max_length=2000)


@router.post(
    "/incidents/{incident_id}/close",
    response=IncidentDetailOut,
    summary="Close with a disposition (409 while units are still on it)",
)
def close(request: HttpRequest, incident_id: int, body: IncidentCloseIn) -> IncidentDetailOut:
    user = caller(request, Action.INCIDENT_UPDATE)
    incident = selectors.incident_for(user, incident_id)
    incident_services.close_incident(
        incident, body.disposition, user, note=body.note, request=request
    )
    return _detail(user, incident_id, request, audit_read=False)


# --- reference: places and nature codes -----------------------------------------------------


class PlaceCandidateOut(Schema):
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
    response=list[PlaceCandidateOut],
    summary="Location type-ahead: coordinates, mile markers, towns, common places",
    description="Every candidate is validated against the shipped geography and carries its "
    "jurisdiction answer. Pick one and send its `place_id` (or its lat/lon, or the town) with "
    "what was typed as `location_text`; the typed text is kept, never replaced.",
)
def places(request: HttpRequest, query: Query[PlacesQuery]) -> list[PlaceCandidateOut]:
    caller(request, Action.INCIDENT_VIEW)
    return [
        PlaceCandidateOut(
            kind=candidate.kind,
            label=candidate.label,
            lat=candidate.lat,
            lon=candidate.lon,
            place_id=candidate.place_id,
            note=candidate.note,
            jurisdiction=LocateOut(**jurisdiction_out(candidate.answer)),
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
    caller(request, Action.INCIDENT_VIEW)
    return list(selectors.nature_codes())
