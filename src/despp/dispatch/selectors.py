"""Reads about calls and incidents, scoped to the caller (units: selectors_units.py).

Scoping:
- Calls: a user sees the calls of the PSAPs their agency covers (`visible_agency_ids`: the
  agency and those under it), plus calls transferred to those PSAPs; statewide.view sees all.
- Incidents: those of the PSAPs the user's agency covers, plus those whose primary police
  agency is one the user's agency covers (a trooper of Troop C sees incidents in Troop C's
  towns whichever PSAP took them); statewide.view sees all.
An object outside these sets is a 404 (Http404), never a 403.

The timeline of an incident is its event stream `incident:<id>`; `incident_playback` folds it
into the incident's state at any moment (status, nature, priority, calls, units and their
statuses, notes), so what a dispatcher saw can be replayed from the log alone.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from despp.core.eventlog import stream_events
from despp.core.models import Event
from despp.core.scoping import visible_agency_ids
from despp.dispatch.events import Kind, incident_stream
from despp.dispatch.models import (
    OPEN_INCIDENT_STATUSES,
    Assignment,
    Call,
    Caution,
    Incident,
    NatureCode,
)
from despp.dispatch.services.calls import CALLBACK_QUEUE
from despp.dispatch.services.incidents import cautions_near

_CALL_RELATED = ("psap", "town", "place", "place__town", "incident", "transferred_to")
_INCIDENT_RELATED = ("psap", "nature", "town", "police_agency", "disposition", "merged_into")
# A town's boundary is a large GeoJSON document: never read it along with calls or incidents.
_CALL_DEFERRED = ("town__boundary", "place__town__boundary")
_INCIDENT_DEFERRED = ("town__boundary",)


def visible_calls(user: Any) -> QuerySet[Call]:
    visible = visible_agency_ids(user)
    calls = Call.objects.select_related(*_CALL_RELATED).defer(*_CALL_DEFERRED)
    if visible is None:
        return calls
    if not visible:
        return calls.none()
    return calls.filter(Q(psap_id__in=visible) | Q(transferred_to_id__in=visible))


def call_for(user: Any, call_id: int) -> Call:
    found = visible_calls(user).filter(pk=call_id).first()
    if found is None:
        raise Http404("No call matches the given query.")
    return found


def callback_queue(user: Any) -> QuerySet[Call]:
    """Abandoned calls still waiting for a callback, oldest first."""
    return visible_calls(user).filter(callback_status__in=CALLBACK_QUEUE).order_by("received_at")


def visible_incidents(user: Any) -> QuerySet[Incident]:
    visible = visible_agency_ids(user)
    incidents = Incident.objects.select_related(*_INCIDENT_RELATED).defer(*_INCIDENT_DEFERRED)
    if visible is None:
        return incidents
    if not visible:
        return incidents.none()
    return incidents.filter(Q(psap_id__in=visible) | Q(police_agency_id__in=visible))


def incident_for(user: Any, incident_id: int) -> Incident:
    found = visible_incidents(user).filter(pk=incident_id).first()
    if found is None:
        raise Http404("No incident matches the given query.")
    return found


def open_incidents(
    user: Any,
    *,
    psap: str | None = None,
    discipline: str | None = None,
    nature: str | None = None,
    priority: int | None = None,
    town: str | None = None,
    status: str | None = None,
) -> QuerySet[Incident]:
    """Open incidents the user sees, most urgent first then oldest, with their calls counted
    and their assignments prefetched (a fixed number of queries whatever the count)."""
    incidents = visible_incidents(user).filter(status__in=OPEN_INCIDENT_STATUSES)
    if psap:
        incidents = incidents.filter(psap__code=psap)
    if discipline:
        incidents = incidents.filter(nature__discipline=discipline)
    if nature:
        incidents = incidents.filter(nature__code=nature.upper())
    if priority is not None:
        incidents = incidents.filter(priority=priority)
    if town:
        incidents = incidents.filter(town__name__iexact=town)
    if status:
        incidents = incidents.filter(status=status)
    return incidents.order_by("priority", "created_at").prefetch_related(
        "calls", "assignments__unit"
    )


@dataclass
class IncidentDetail:
    incident: Incident
    calls: list[Call]
    assignments: list[Assignment]
    cautions: list[Caution]
    timeline: list[Event]
    links: list[dict[str, Any]]


def incident_detail(user: Any, incident_id: int) -> IncidentDetail:
    incident = incident_for(user, incident_id)
    calls = list(
        Call.objects.filter(incident=incident)
        .select_related(*_CALL_RELATED)
        .defer(*_CALL_DEFERRED)
        .order_by("pk")
    )
    assignments = list(
        Assignment.objects.filter(incident=incident).select_related("unit").order_by("pk")
    )
    links = [
        {"incident": link.other_id, "number": link.other.display_number, "reason": link.reason}
        for link in incident.links_out.select_related("other")
    ] + [
        {
            "incident": link.incident_id,
            "number": link.incident.display_number,
            "reason": link.reason,
        }
        for link in incident.links_in.select_related("incident")
    ]
    return IncidentDetail(
        incident=incident,
        calls=calls,
        assignments=assignments,
        cautions=cautions_near(incident.lat, incident.lon),
        timeline=incident_timeline(incident),
        links=links,
    )


def incident_timeline(incident: Incident) -> list[Event]:
    """The incident's events, in the order they happened (its hash-chained stream)."""
    return stream_events(incident_stream(incident.pk))


def nature_codes(*, active_only: bool = True) -> QuerySet[NatureCode]:
    codes = NatureCode.objects.all()
    return codes.filter(active=True) if active_only else codes


# --- playback ------------------------------------------------------------------------------


@dataclass
class PlaybackState:
    """An incident as its timeline says it was at `at` (None: after the last event)."""

    at: datetime | None = None
    events: int = 0
    number: str = ""
    status: str = ""
    nature: str = ""
    priority: int | None = None
    location_text: str = ""
    calls: list[int] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # call sign -> status on this incident
    notes: list[str] = field(default_factory=list)
    links: list[Any] = field(default_factory=list)
    merged_into: int | None = None
    disposition: str = ""


def _unit_name(data: dict[str, Any]) -> str:
    return str(data.get("call_sign") or data.get("unit_call_sign") or data.get("unit") or "?")


def _fold(state: PlaybackState, kind: str, data: dict[str, Any]) -> None:
    if kind == Kind.INCIDENT_CREATED:
        state.number = data.get("number", "")
        state.status = data.get("status", "pending")
        state.nature = data.get("nature", "")
        state.priority = data.get("priority")
        state.location_text = data.get("location_text", "")
        if data.get("call"):
            state.calls.append(data["call"])
    elif kind == Kind.INCIDENT_UPDATED:
        for name in ("nature", "priority", "location_text", "status"):
            if name in data:
                setattr(state, name, data[name])
    elif kind == Kind.CALL_ATTACHED and data.get("call") not in state.calls:
        state.calls.append(data["call"])
    elif kind == Kind.INCIDENT_NOTE:
        state.notes.append(data.get("text", ""))
    elif kind == Kind.INCIDENT_LINKED:
        state.links.append(data.get("other"))
    elif kind == Kind.INCIDENT_MERGED:
        state.status = data.get("status", "merged")
        state.merged_into = data.get("into")
        state.calls = [c for c in state.calls if c not in data.get("calls", [])]
        for unit in data.get("units", []):
            state.units.pop(unit, None)
    elif kind == Kind.INCIDENT_ABSORBED:
        state.calls += [c for c in data.get("calls", []) if c not in state.calls]
        state.units.update(data.get("unit_statuses", {}))
    elif kind == Kind.INCIDENT_SPLIT and "to" in data:
        state.calls = [c for c in state.calls if c not in data.get("calls", [])]
    elif kind == Kind.INCIDENT_SPLIT:
        state.calls += [c for c in data.get("calls", []) if c not in state.calls]
    elif kind == Kind.INCIDENT_CLOSED:
        state.status = data.get("status", "closed")
        state.disposition = data.get("disposition", "")
    elif kind == Kind.INCIDENT_REOPENED:
        state.status = data.get("status", "active")
    elif kind in (Kind.UNIT_ASSIGNED, Kind.UNIT_STATUS):
        status = data.get("to") or data.get("status")
        if status:
            state.units[_unit_name(data)] = status
            if state.status == "pending" and status not in {"reserved", "cleared"}:
                state.status = "active"  # the first unit committed makes it active


def incident_playback(incident: Incident, at: datetime | None = None) -> PlaybackState:
    """Rebuild the incident's state from its events up to and including `at`."""
    state = PlaybackState(at=at)
    for event in incident_timeline(incident):
        if at is not None and event.at > at:
            break
        state.events += 1
        _fold(state, event.kind, event.data or {})
    return state
