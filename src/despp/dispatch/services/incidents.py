"""Incidents: create (from a call, officer-initiated, scheduled), notes, close with a
disposition; attaching, linking, merging and splitting live in incident_links.py and the
shared insert, numbering and cautions in _incident_core.py (all re-exported here).

Each function validates first (ValidationError naming the field: 422, nothing written), takes
its row locks (incidents by ascending id, then their calls and assignments), writes, records
the access audit, and appends its events to `incident:<id>` (and `call:<id>` for calls it
moves) as the last writes. Each incident's stream is its whole timeline:
`selectors.incident_timeline` and `selectors.incident_playback` rebuild it from there.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core.errors import Conflict
from despp.core.models import Agency, User
from despp.dispatch.events import Kind, incident_stream
from despp.dispatch.geo_search import ResolvedLocation, resolve_location
from despp.dispatch.models import (
    Assignment,
    AssignmentStatus,
    Call,
    CallStatus,
    DispositionCode,
    Incident,
    IncidentSource,
    IncidentStatus,
    NatureCode,
)
from despp.dispatch.services._common import MAX_NOTE, Pending, clean_text, iso
from despp.dispatch.services._incident_core import (
    audit_update,
    caution_summary,
    cautions_for,
    cautions_near,
    check_priority,
    incident_year,
    insert_incident,
    lock_incidents,
    next_incident_number,
    require_open,
)
from despp.dispatch.services._lookup import answer_of, answer_psap_code, nature_by_code, route
from despp.dispatch.services.incident_links import (
    attach_call,
    link_incidents,
    merge_incidents,
    split_incident,
)

# The EIDO importer (dispatch/eido) inserts through the same path as every other incident.
_create_incident = insert_incident

__all__ = [
    "add_note",
    "attach_call",
    "caution_summary",
    "cautions_near",
    "close_incident",
    "create_incident",
    "incident_year",
    "link_incidents",
    "merge_incidents",
    "next_incident_number",
    "split_incident",
]

_MAX_SCHEDULE_AHEAD = timedelta(days=366)


def create_incident(
    *,
    nature: NatureCode | str,
    user: User,
    call: Call | None = None,
    source: str | None = None,
    psap: Agency | None = None,
    lat: float | None = None,
    lon: float | None = None,
    place_id: int | None = None,
    town: str | None = None,
    location_text: str | None = None,
    priority: int | None = None,
    scheduled_for: datetime | None = None,
    request: HttpRequest | None = None,
) -> Incident:
    """Open an incident. Three ways:

    - from a `call` (source "call"): the call's PSAP and location; the call is attached. 409
      when the call already has an incident or was transferred away.
    - officer-initiated (source "officer"): a location is required (lat/lon, place_id or
      town, validated like a call's); the PSAP serving it, unless `psap` is given.
    - scheduled (source "scheduled"): as officer-initiated plus `scheduled_for`, a time in the
      next year; units are reserved for it, not dispatched.
    Priority defaults to the nature's. The number is the PSAP's next for the year. Cautions
    near the point are recorded on the timeline (incident.created data).
    """
    nature_code = nature_by_code(nature) if isinstance(nature, str) else nature
    if not nature_code.active:
        raise ValidationError({"nature": f"{nature_code.code} is retired; pick another"})
    source = source or (IncidentSource.CALL if call is not None else IncidentSource.OFFICER)
    if source not in {IncidentSource.CALL, IncidentSource.OFFICER, IncidentSource.SCHEDULED}:
        raise ValidationError({"source": "must be call, officer or scheduled"})
    if (source == IncidentSource.CALL) != (call is not None):
        raise ValidationError({"call": "is required exactly when the source is a call"})
    now = timezone.now()
    if source == IncidentSource.SCHEDULED:
        if scheduled_for is None:
            raise ValidationError({"scheduled_for": "is required for a scheduled incident"})
        if timezone.is_naive(scheduled_for):
            raise ValidationError({"scheduled_for": "must carry a time zone"})
        if not now < scheduled_for <= now + _MAX_SCHEDULE_AHEAD:
            raise ValidationError({"scheduled_for": "must be in the future, within a year"})
    elif scheduled_for is not None:
        raise ValidationError({"scheduled_for": "is only for scheduled incidents"})
    text = clean_text("location_text", location_text, 200)
    check_priority(priority, nature_code)
    with transaction.atomic():
        pending = Pending(user)
        if call is not None:
            call = (
                Call.objects.select_for_update(of=("self",))
                .select_related("psap", "place")
                .order_by()
                .get(pk=call.pk)
            )
            if call.incident_id is not None:
                raise Conflict(
                    f"call {call.pk} is already part of incident {call.incident_id}",
                    incident=call.incident_id,
                )
            if call.status == CallStatus.TRANSFERRED:
                raise Conflict(f"call {call.pk} was transferred to another PSAP")
            answer = answer_of(call)
            point = (call.place.lat, call.place.lon) if call.place else (call.lat, call.lon)
            where = ResolvedLocation(answer, point[0], point[1], call.place, "call")
            psap_id, psap_code = call.psap_id, answer_psap_code(call, answer)
            text = text or call.location_text or call.civic_address
        else:
            where = resolve_location(lat=lat, lon=lon, place_id=place_id, town=town)
            psap_id, psap_code = route(psap, where)
        cautions = cautions_for(where.lat, where.lon)
        incident = insert_incident(
            pending,
            psap_id=psap_id,
            psap_code=psap_code,
            nature=nature_code,
            priority=priority,
            source=source,
            user=user,
            where=where,
            location_text=text,
            call=call,
            scheduled_for=scheduled_for,
            cautions=cautions,
            request=request,
        )
        pending.flush()
    incident.cautions = cautions  # type: ignore[attr-defined]
    return incident


# --- notes and closing -----------------------------------------------------------------------


def add_note(
    incident: Incident, text: str, user: User, *, request: HttpRequest | None = None
) -> Incident:
    """Add narrative to an incident's timeline (open or closed: late supplements are normal)."""
    body = clean_text("text", text, MAX_NOTE, required=True)
    with transaction.atomic():
        locked = lock_incidents(incident.pk)[incident.pk]
        audit_update(locked, user, request)
        pending = Pending(user)
        pending.add(
            incident_stream(locked.pk),
            Kind.INCIDENT_NOTE,
            {"incident": locked.pk, "psap": locked.psap.code, "text": body},
        )
        pending.flush()
    return locked


def close_incident(
    incident: Incident,
    disposition: DispositionCode | str,
    user: User,
    *,
    note: str | None = None,
    request: HttpRequest | None = None,
) -> Incident:
    """Close an open incident with a disposition code. 409 while any unit is still on it
    (committed or reserved: clear them first; the message names them) or when it is already
    closed or merged; 422 for an unknown or retired disposition."""
    text = clean_text("note", note, MAX_NOTE)
    if isinstance(disposition, str):
        found = DispositionCode.objects.filter(code=disposition.strip().upper()).first()
        if found is None:
            raise ValidationError({"disposition": f"{disposition!r} is not a disposition code"})
        disposition = found
    if not disposition.active:
        raise ValidationError({"disposition": f"{disposition.code} is retired"})
    with transaction.atomic():
        locked = lock_incidents(incident.pk)[incident.pk]
        require_open(locked, "close it")
        still = list(
            Assignment.objects.select_for_update(of=("self",))
            .filter(incident=locked)
            .exclude(status=AssignmentStatus.CLEARED)
            .select_related("unit")
            .order_by("pk")
        )
        if still:
            names = ", ".join(
                f"{a.unit.call_sign} ({a.get_status_display().lower()})" for a in still
            )
            raise Conflict(
                f"units are still on incident {locked.display_number}: {names}; clear them first",
                units=[a.unit.call_sign for a in still],
            )
        now = timezone.now()
        locked.status = IncidentStatus.CLOSED
        locked.closed_at = now
        locked.disposition = disposition
        locked.save(update_fields=["status", "closed_at", "disposition"])
        audit_update(locked, user, request)
        pending = Pending(user)
        pending.add(
            incident_stream(locked.pk),
            Kind.INCIDENT_CLOSED,
            {
                "incident": locked.pk,
                "psap": locked.psap.code,
                "disposition": disposition.code,
                "report_required": disposition.report_required,
                "note": text,
                "status": locked.status,
                "closed_at": iso(now),
            },
        )
        pending.flush()
    return locked
