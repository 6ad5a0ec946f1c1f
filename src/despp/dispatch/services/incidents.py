"""Incidents: create (from a call, officer-initiated, scheduled), attach calls, link, merge,
split, notes, close with a disposition; cautions near a place or naming a person.

Each function validates first (ValidationError naming the field: 422, nothing written), takes
its row locks (incidents by ascending id, then their calls), writes, records the access audit,
and appends its events to `incident:<id>` (and `call:<id>` for calls it moves) as the last
writes. Each incident's stream is its whole timeline: `selectors.incident_timeline` and
`selectors.incident_playback` rebuild it from there.

Numbers: `IncidentCounter` holds the last number a PSAP issued in a year (the year of the
incident's entry in DESPP_TIME_ZONE); the counter row is locked (select_for_update) while the
next number is taken, so two call-takers never get the same number, and numbers restart at 1
each year for each PSAP.
"""

import math
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit
from despp.core.errors import Conflict
from despp.core.models import Agency, AuditAction, User
from despp.dispatch.events import Kind, call_stream, incident_stream
from despp.dispatch.geo_search import EARTH_RADIUS_M, ResolvedLocation, distance_m
from despp.dispatch.models import (
    OPEN_INCIDENT_STATUSES,
    Assignment,
    AssignmentStatus,
    Call,
    CallStatus,
    Caution,
    CautionKind,
    DispositionCode,
    Incident,
    IncidentCounter,
    IncidentLink,
    IncidentSource,
    IncidentStatus,
    NatureCode,
    Priority,
)
from despp.dispatch.services._common import (
    MAX_NOTE,
    MAX_REASON,
    Pending,
    clean_text,
    iso,
)

# Premise cautions are looked for within this box before each one's own radius is applied.
_CAUTION_SEARCH_M = 2_000
_MAX_SCHEDULE_AHEAD = timedelta(days=366)


# --- cautions ------------------------------------------------------------------------------


def cautions_near(
    lat: float | None, lon: float | None, names: list[str] | None = None
) -> list[Caution]:
    """Unexpired cautions that apply: premise cautions whose radius covers the point, and
    person cautions naming one of `names` (case-insensitive, exact name). Every agency's
    cautions are shown to everyone: they exist to keep responders safe."""
    now = timezone.now()
    found: list[Caution] = []
    live = Caution.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    if lat is not None and lon is not None:
        dlat = math.degrees(_CAUTION_SEARCH_M / EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
        for caution in live.filter(
            kind=CautionKind.PREMISE,
            lat__range=(lat - dlat, lat + dlat),
            lon__range=(lon - dlon, lon + dlon),
        ):
            if caution.lat is None or caution.lon is None:
                continue
            if distance_m(lat, lon, caution.lat, caution.lon) <= caution.radius_m:
                found.append(caution)
    wanted = {name.strip().casefold() for name in names or [] if name.strip()}
    if wanted:
        query = Q()
        for name in wanted:
            query |= Q(person_name__iexact=name)
        found += list(live.filter(query, kind=CautionKind.PERSON))
    return found


def _cautions_for(lat: float | None, lon: float | None) -> list[Caution]:
    return cautions_near(lat, lon) if lat is not None and lon is not None else []


def caution_summary(cautions: list[Caution]) -> list[dict[str, Any]]:
    return [{"id": c.pk, "kind": c.kind, "text": c.text} for c in cautions]


# --- numbering and creation ------------------------------------------------------------------


def incident_year(at: datetime) -> int:
    return timezone.localtime(at).year


def next_incident_number(psap_id: int, year: int) -> int:
    """Take the PSAP's next number for `year`. Call inside a transaction: the counter row is
    incremented by one conditional UPDATE ... RETURNING, which locks it (as select_for_update
    would) until the transaction ends, so two call-takers never get the same number and a
    rolled-back intake gives its number back. Numbers restart at 1 each year for each PSAP."""
    table = connection.ops.quote_name(IncidentCounter._meta.db_table)
    sql = (
        f"UPDATE {table} SET last_number = last_number + 1 "  # noqa: S608 - names are ours
        "WHERE psap_id = %s AND year = %s RETURNING last_number"
    )
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [psap_id, year])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        try:  # the PSAP's first incident of the year: make its counter, then take number 1
            with transaction.atomic():
                IncidentCounter.objects.create(psap_id=psap_id, year=year)
        except IntegrityError:  # another transaction made it first; its lock orders us
            pass
    raise RuntimeError(f"no incident counter for PSAP {psap_id} in {year}")


def _priority(value: int | None, nature: NatureCode) -> int:
    if value is None:
        return nature.default_priority
    if isinstance(value, bool) or value not in Priority.values:
        raise ValidationError({"priority": f"must be one of {Priority.values} (1 most urgent)"})
    return int(value)


def _create_incident(
    pending: Pending,
    *,
    psap_id: int,
    psap_code: str,
    nature: NatureCode,
    priority: int | None,
    source: str,
    user: User | None,
    where: ResolvedLocation | None,
    location_text: str,
    call: Call | None = None,
    scheduled_for: datetime | None = None,
    cautions: list[Caution] | None = None,
    request: HttpRequest | None = None,
    extra: dict[str, Any] | None = None,
) -> Incident:
    """Insert an incident (and attach `call`); the caller has validated and holds the
    transaction. Appends incident.created (+ call.attached) to `pending`."""
    now = timezone.now()
    year = incident_year(now)
    incident = Incident(
        psap_id=psap_id,
        year=year,
        number=next_incident_number(psap_id, year),
        nature=nature,
        priority=_priority(priority, nature),
        source=source,
        status=IncidentStatus.PENDING,
        lat=where.lat if where else None,
        lon=where.lon if where else None,
        location_text=location_text,
        town_id=where.town_id if where else None,
        police_agency_id=where.answer.police_agency_id if where else None,
        scheduled_for=scheduled_for,
        created_by=user,
        created_at=now,
    )
    incident.save(force_insert=True)
    if call is not None:
        Call.objects.filter(pk=call.pk).update(incident=incident)
        call.incident = incident
    audit.record(
        AuditAction.CREATE,
        request=request,
        user=user,
        object_type="incident",
        object_id=incident.pk,
    )
    data: dict[str, Any] = {
        "incident": incident.pk,
        "psap": psap_code,
        "number": incident.display_number,
        "nature": nature.code,
        "discipline": nature.discipline,
        "priority": incident.priority,
        "source": source,
        "status": incident.status,
        "lat": incident.lat,
        "lon": incident.lon,
        "location_text": location_text,
        "town": where.answer.town if where else None,
        "in_state": where.answer.in_state if where else True,
        "scheduled_for": iso(scheduled_for),
        "call": call.pk if call else None,
        "cautions": caution_summary(cautions or []),
        **(extra or {}),
    }
    pending.add(incident_stream(incident.pk), Kind.INCIDENT_CREATED, data)
    incident._created_event = data  # type: ignore[attr-defined]
    if call is not None:
        attached = {"call": call.pk, "incident": incident.pk, "psap": psap_code}
        pending.add(call_stream(call.pk), Kind.CALL_ATTACHED, attached)
    return incident


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
    from despp.dispatch.geo_search import resolve_location
    from despp.dispatch.services.calls import _answer_of, _nature, answer_psap_code

    nature_code = _nature(nature) if isinstance(nature, str) else nature
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
    _priority(priority, nature_code)
    with transaction.atomic():
        pending = Pending(user)
        if call is not None:
            call = Call.objects.select_for_update().select_related("psap", "place").get(pk=call.pk)
            if call.incident_id is not None:
                raise Conflict(
                    f"call {call.pk} is already part of incident {call.incident_id}",
                    incident=call.incident_id,
                )
            if call.status == CallStatus.TRANSFERRED:
                raise Conflict(f"call {call.pk} was transferred to another PSAP")
            answer = _answer_of(call)
            point = (call.place.lat, call.place.lon) if call.place else (call.lat, call.lon)
            where = ResolvedLocation(answer, point[0], point[1], call.place, "call")
            psap_id, psap_code = call.psap_id, answer_psap_code(call, answer)
            text = text or call.location_text or call.civic_address
        else:
            where = resolve_location(lat=lat, lon=lon, place_id=place_id, town=town)
            from despp.dispatch.services.calls import _route

            psap_id, psap_code = _route(psap, where)
        cautions = _cautions_for(where.lat, where.lon)
        incident = _create_incident(
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


# --- attaching, linking, merging, splitting --------------------------------------------------


def _lock_incidents(*ids: int) -> dict[int, Incident]:
    """Lock incidents in ascending id order (the order every dispatch service uses)."""
    rows = (
        Incident.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .select_related("psap", "nature")
    )
    found = {incident.pk: incident for incident in rows}
    for wanted in ids:
        if wanted not in found:
            raise Conflict(f"incident {wanted} no longer exists")
    return found


def _require_open(incident: Incident, doing: str) -> None:
    if incident.status not in OPEN_INCIDENT_STATUSES:
        raise Conflict(
            f"incident {incident.display_number} is {incident.get_status_display().lower()}; "
            f"cannot {doing}",
            current_state=incident.status,
        )


def _attach(
    pending: Pending,
    call: Call,
    incident: Incident,
    user: User | None,
    *,
    request: HttpRequest | None = None,
) -> Incident:
    incident = _lock_incidents(incident.pk)[incident.pk]
    _require_open(incident, "attach a call")
    if call.incident_id is not None:
        raise Conflict(
            f"call {call.pk} is already part of incident {call.incident_id}",
            incident=call.incident_id,
        )
    if call.psap_id != incident.psap_id:
        raise Conflict(
            f"call {call.pk} and incident {incident.display_number} belong to different PSAPs"
        )
    Call.objects.filter(pk=call.pk).update(incident=incident)
    call.incident = incident
    audit.record(
        AuditAction.UPDATE,
        request=request,
        user=user,
        object_type="incident",
        object_id=incident.pk,
    )
    data = {"call": call.pk, "incident": incident.pk, "psap": incident.psap.code}
    pending.add(incident_stream(incident.pk), Kind.CALL_ATTACHED, data)
    pending.add(call_stream(call.pk), Kind.CALL_ATTACHED, data)
    return incident


def attach_call(
    call: Call, incident: Incident, user: User, *, request: HttpRequest | None = None
) -> Incident:
    """Attach a call with no incident to an open incident of its PSAP (a duplicate call).
    409 when the incident is closed or merged, the call already has one, or PSAPs differ."""
    with transaction.atomic():
        pending = Pending(user)
        locked = Call.objects.select_for_update().get(pk=call.pk)
        incident = _attach(pending, locked, incident, user, request=request)
        pending.flush()
    return incident


def link_incidents(
    incident: Incident,
    other: Incident,
    reason: str,
    user: User,
    *,
    request: HttpRequest | None = None,
) -> IncidentLink:
    """Record two incidents as related (both stay open; each timeline says so). 409 when they
    are already linked either way; 422 when they are the same incident or no reason."""
    text = clean_text("reason", reason, MAX_REASON, required=True)
    if incident.pk == other.pk:
        raise ValidationError({"other": "is the same incident"})
    with transaction.atomic():
        found = _lock_incidents(incident.pk, other.pk)
        a, b = found[incident.pk], found[other.pk]
        if IncidentLink.objects.filter(Q(incident=a, other=b) | Q(incident=b, other=a)).exists():
            raise Conflict(f"incidents {a.display_number} and {b.display_number} are linked")
        link = IncidentLink.objects.create(incident=a, other=b, reason=text, created_by=user)
        for one in (a, b):
            _audit(one, user, request)
        pending = Pending(user)
        for one, two in ((a, b), (b, a)):
            pending.add(
                incident_stream(one.pk),
                Kind.INCIDENT_LINKED,
                {
                    "incident": one.pk,
                    "other": two.pk,
                    "other_number": two.display_number,
                    "other_psap": two.psap.code,
                    "psap": one.psap.code,
                    "reason": text,
                },
            )
        pending.flush()
    return link


def merge_incidents(
    source: Incident,
    target: Incident,
    user: User,
    *,
    reason: str | None = None,
    request: HttpRequest | None = None,
) -> Incident:
    """Merge `source` into `target`: its calls and unit assignments move to the target, the
    source becomes MERGED (merged_into = target, closed_at stamped). Both timelines say so
    (incident.merged on the source, incident.absorbed on the target).

    Both must be open and of the same PSAP (409 otherwise); a unit with an open assignment on
    both incidents is a 409 naming it (clear it from one first).
    """
    text = clean_text("reason", reason, MAX_REASON)
    if source.pk == target.pk:
        raise ValidationError({"target": "is the incident being merged"})
    with transaction.atomic():
        found = _lock_incidents(source.pk, target.pk)
        src, dst = found[source.pk], found[target.pk]
        _require_open(src, "merge it")
        _require_open(dst, "merge into it")
        if src.psap_id != dst.psap_id:
            raise Conflict("incidents of different PSAPs cannot be merged; link them instead")
        open_q = ~Q(status=AssignmentStatus.CLEARED)
        moving = list(
            Assignment.objects.select_for_update()
            .filter(incident=src)
            .select_related("unit")
            .order_by("pk")
        )
        on_target = set(
            Assignment.objects.filter(open_q, incident=dst).values_list("unit_id", flat=True)
        )
        both = sorted(
            a.unit.call_sign
            for a in moving
            if a.status != AssignmentStatus.CLEARED and a.unit_id in on_target
        )
        if both:
            raise Conflict(
                f"{', '.join(both)} on both incidents: clear the unit from one first",
                units=both,
            )
        call_ids = list(
            Call.objects.select_for_update()
            .filter(incident=src)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Call.objects.filter(pk__in=call_ids).update(incident=dst)
        Assignment.objects.filter(pk__in=[a.pk for a in moving]).update(incident=dst)
        now = timezone.now()
        src.status = IncidentStatus.MERGED
        src.merged_into = dst
        src.closed_at = now
        src.save(update_fields=["status", "merged_into", "closed_at"])
        for one in (src, dst):
            _audit(one, user, request)
        moved = {
            "calls": call_ids,
            "assignments": [a.pk for a in moving],
            "units": [a.unit.call_sign for a in moving],
            "unit_statuses": {a.unit.call_sign: a.status for a in moving},
            "reason": text,
        }
        pending = Pending(user)
        pending.add(
            incident_stream(src.pk),
            Kind.INCIDENT_MERGED,
            {
                "incident": src.pk,
                "psap": src.psap.code,
                "into": dst.pk,
                "into_number": dst.display_number,
                "status": src.status,
                **moved,
            },
        )
        pending.add(
            incident_stream(dst.pk),
            Kind.INCIDENT_ABSORBED,
            {
                "incident": dst.pk,
                "psap": dst.psap.code,
                "from": src.pk,
                "from_number": src.display_number,
                **moved,
            },
        )
        for call_id in call_ids:
            pending.add(
                call_stream(call_id),
                Kind.CALL_ATTACHED,
                {"call": call_id, "incident": dst.pk, "psap": dst.psap.code, "from": src.pk},
            )
        pending.flush()
    return dst


def split_incident(
    incident: Incident,
    call_ids: list[int],
    user: User,
    *,
    nature: NatureCode | str | None = None,
    reason: str | None = None,
    request: HttpRequest | None = None,
) -> Incident:
    """Move some of an open incident's calls to a new incident (e.g. two events were taken
    for one). The new incident has the given nature (default: the same), the location of the
    first moved call, and a number of its own; both timelines say so (incident.split).
    422 when no call is named or a named call is not on this incident; 409 when it is closed.
    """
    from despp.dispatch.services.calls import _answer_of, _nature

    text = clean_text("reason", reason, MAX_REASON)
    if not call_ids:
        raise ValidationError({"calls": "name at least one call to split off"})
    if len(set(call_ids)) != len(call_ids):
        raise ValidationError({"calls": "names a call twice"})
    with transaction.atomic():
        src = _lock_incidents(incident.pk)[incident.pk]
        _require_open(src, "split it")
        calls = list(
            Call.objects.select_for_update()
            .filter(pk__in=call_ids)
            .select_related("place", "psap")
            .order_by("pk")
        )
        strays = sorted(set(call_ids) - {c.pk for c in calls if c.incident_id == src.pk})
        if strays:
            raise ValidationError(
                {"calls": f"not calls of incident {src.display_number}: {strays}"}
            )
        nature_code = src.nature if nature is None else nature
        if isinstance(nature_code, str):
            nature_code = _nature(nature_code)
        first = calls[0]
        point = (first.place.lat, first.place.lon) if first.place else (first.lat, first.lon)
        where = ResolvedLocation(_answer_of(first), point[0], point[1], first.place, "call")
        pending = Pending(user)
        new = _create_incident(
            pending,
            psap_id=src.psap_id,
            psap_code=src.psap.code,
            nature=nature_code,
            priority=None,
            source=src.source if src.source != IncidentSource.TRANSFER else IncidentSource.CALL,
            user=user,
            where=where,
            location_text=first.location_text or first.civic_address,
            cautions=_cautions_for(where.lat, where.lon),
            request=request,
            extra={"split_from": src.pk, "split_from_number": src.display_number},
        )
        Call.objects.filter(pk__in=[c.pk for c in calls]).update(incident=new)
        _audit(src, user, request)
        moved = [c.pk for c in calls]
        pending.add(
            incident_stream(src.pk),
            Kind.INCIDENT_SPLIT,
            {
                "incident": src.pk,
                "psap": src.psap.code,
                "calls": moved,
                "to": new.pk,
                "to_number": new.display_number,
                "reason": text,
            },
        )
        pending.add(
            incident_stream(new.pk),
            Kind.INCIDENT_SPLIT,
            {
                "incident": new.pk,
                "psap": src.psap.code,
                "calls": moved,
                "from": src.pk,
                "from_number": src.display_number,
                "reason": text,
            },
        )
        for call_id in moved:
            pending.add(
                call_stream(call_id),
                Kind.CALL_ATTACHED,
                {"call": call_id, "incident": new.pk, "psap": src.psap.code, "from": src.pk},
            )
        pending.flush()
    return new


# --- notes and closing -----------------------------------------------------------------------


def add_note(
    incident: Incident, text: str, user: User, *, request: HttpRequest | None = None
) -> Incident:
    """Add narrative to an incident's timeline (open or closed: late supplements are normal)."""
    body = clean_text("text", text, MAX_NOTE, required=True)
    with transaction.atomic():
        locked = _lock_incidents(incident.pk)[incident.pk]
        _audit(locked, user, request)
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
        locked = _lock_incidents(incident.pk)[incident.pk]
        _require_open(locked, "close it")
        still = list(
            Assignment.objects.select_for_update()
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
        _audit(locked, user, request)
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


def _audit(incident: Incident, user: User | None, request: HttpRequest | None) -> None:
    audit.record(
        AuditAction.UPDATE,
        request=request,
        user=user,
        object_type="incident",
        object_id=incident.pk,
    )
