"""911 call intake: receive a call (validate, locate once, route) and, in the same
transaction, open or join its incident. The intake path is kept lean on purpose: it must
sustain hundreds of calls a second (see intake_call)."""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit
from despp.core.errors import Conflict
from despp.core.jurisdiction import Jurisdiction
from despp.core.models import Agency, AuditAction, User
from despp.dispatch.duplicates import DuplicateCandidate, find_duplicates
from despp.dispatch.events import Kind, call_stream
from despp.dispatch.geo_search import ResolvedLocation, resolve_location
from despp.dispatch.models import (
    Call,
    CallStatus,
    Caution,
    ClassOfService,
    Incident,
    IncidentSource,
)
from despp.dispatch.services._common import Pending, check_time, clean_text, iso
from despp.dispatch.services._incident_core import cautions_near, check_priority, insert_incident
from despp.dispatch.services._lookup import answer_of, nature_by_code, route
from despp.dispatch.services.incident_links import attach

_CALLBACK_NUMBER = re.compile(r"^\+?[0-9 ().\-]{3,20}$")


@dataclass
class Intake:
    """What POST /api/dispatch/calls answers: the call, its jurisdiction, the incident made
    or joined (None when duplicates were offered instead), the candidates, the cautions."""

    call: Call
    answer: Jurisdiction
    created: bool
    incident: Incident | None = None
    duplicates: list[DuplicateCandidate] = field(default_factory=list)
    cautions: list[Caution] = field(default_factory=list)


def _callback_number(value: str | None) -> str:
    number = (value or "").strip()
    if number and (not _CALLBACK_NUMBER.match(number) or sum(ch.isdigit() for ch in number) < 3):
        raise ValidationError(
            {"callback_number": "must be a telephone number: digits, spaces, + ( ) . -"}
        )
    return number


def _class_of_service(value: Any) -> str:
    if value not in ClassOfService.values:
        raise ValidationError(
            {"class_of_service": f"must be one of {', '.join(ClassOfService.values)}"}
        )
    return str(value)


def _same_call(call: Call, **given: Any) -> bool:
    return all(getattr(call, name) == value for name, value in given.items())


def receive_call(
    *,
    psap: Agency | None,
    callback_number: str | None,
    class_of_service: str,
    lat: float | None = None,
    lon: float | None = None,
    uncertainty_m: int | None = None,
    civic_address: str | None = None,
    location_text: str | None = None,
    place_id: int | None = None,
    town: str | None = None,
    received_at: datetime | None = None,
    answered_at: datetime | None = None,
    call_taker: User | None = None,
    source_ref: str | None = None,
    description: str | None = None,
    request: HttpRequest | None = None,
) -> Call:
    """Record a 911 call. Returns the Call (`created` is False on an idempotent retry).

    Validates every field (ValidationError naming it): callback number, class of service,
    the location (see geo_search.resolve_location: lat/lon with uncertainty, a picked common
    place or mile marker, or a town with the civic address; what was typed is kept verbatim in
    location_text), times (aware, not in the future), text lengths. Locates the call once and
    routes it to `psap`, or when None to the PSAP serving the location (the nearest town's for
    a point just outside the state, which is recorded as out of state). `answered_at` given:
    the call is answered (by `call_taker`); otherwise it is ringing.

    Idempotent: a `source_ref` seen before returns that call unchanged (created=False), also
    when two retries race (the loser of the unique index answers with the winner's call); the
    same source_ref with a different callback number, class of service or point is a 409.
    Use `intake_call` to also create or join an incident in the same transaction.
    """
    return intake_call(
        psap=psap,
        callback_number=callback_number,
        class_of_service=class_of_service,
        lat=lat,
        lon=lon,
        uncertainty_m=uncertainty_m,
        civic_address=civic_address,
        location_text=location_text,
        place_id=place_id,
        town=town,
        received_at=received_at,
        answered_at=answered_at,
        call_taker=call_taker,
        source_ref=source_ref,
        description=description,
        request=request,
    ).call


def _existing(source_ref: str, **given: Any) -> Call | None:
    if not Call.objects.filter(source_ref=source_ref).order_by().values_list("pk")[:1]:
        return None  # the common case, answered by the unique index alone
    found = (
        Call.objects.select_related("psap", "town", "place", "incident")
        .defer("town__boundary")
        .filter(source_ref=source_ref)
        .first()
    )
    if found is None:
        return None
    if not _same_call(found, **given):
        raise Conflict(
            f"source_ref {source_ref!r} already names call {found.pk}, with different details",
            call=found.pk,
        )
    found.created = False  # type: ignore[attr-defined]
    return found


def _identity(fields: dict[str, Any]) -> dict[str, Any]:
    """What a retry must repeat to be the same call."""
    same = {
        "callback_number": _callback_number(fields.get("callback_number")),
        "class_of_service": _class_of_service(fields.get("class_of_service")),
    }
    if fields.get("lat") is not None:
        same |= {"lat": fields["lat"], "lon": fields["lon"]}
    return same


def _prepare(**fields: Any) -> Call:
    """Validate and locate; an unsaved Call, or the existing one for a known source_ref."""
    now = timezone.now()
    source_ref = clean_text("source_ref", fields.get("source_ref"), 64)
    identity = _identity(fields)
    if source_ref:
        existing = _existing(source_ref, **identity)
        if existing is not None:
            return existing
    civic_address = clean_text("civic_address", fields.get("civic_address"), 200)
    location_text = clean_text("location_text", fields.get("location_text"), 200)
    description = clean_text("description", fields.get("description"), 400)
    town = clean_text("town", fields.get("town"), 60) or None
    received_at = check_time("received_at", fields.get("received_at"), now) or now
    answered_at = check_time("answered_at", fields.get("answered_at"), now)
    if answered_at is not None and answered_at < received_at:
        raise ValidationError({"answered_at": "is before received_at"})
    lat, lon = fields.get("lat"), fields.get("lon")
    where = resolve_location(
        lat=lat,
        lon=lon,
        uncertainty_m=fields.get("uncertainty_m"),
        place_id=fields.get("place_id"),
        town=town,
    )
    psap: Agency | None = fields.get("psap")
    psap_id, psap_code = route(psap, where)
    call_taker: User | None = fields.get("call_taker")
    call = Call(
        psap_id=psap_id,
        source_ref=source_ref,
        civic_address=civic_address,
        location_text=location_text,
        lat=lat if lat is None else float(lat),
        lon=lon if lon is None else float(lon),
        uncertainty_m=fields.get("uncertainty_m"),
        place=where.place,
        town_id=where.town_id,
        in_state=where.answer.in_state,
        police_agency_id=where.answer.police_agency_id,
        received_at=received_at,
        answered_at=answered_at,
        call_taker=call_taker if answered_at is not None else None,
        status=CallStatus.ANSWERED if answered_at is not None else CallStatus.RINGING,
        description=description,
        callback_number=identity["callback_number"],
        class_of_service=identity["class_of_service"],
    )
    if psap is not None:
        call.psap = psap
    call.created = True  # type: ignore[attr-defined]
    call._answer = where.answer  # type: ignore[attr-defined]
    call._where = where  # type: ignore[attr-defined]
    call._psap_code = psap_code  # type: ignore[attr-defined]
    return call


def _insert(pending: Pending, call: Call, user: User | None, request: HttpRequest | None) -> None:
    """Save a prepared call; its call.received event goes first in `pending`."""
    call.save(force_insert=True)
    audit.record(
        AuditAction.CREATE, request=request, user=user, object_type="call", object_id=call.pk
    )
    where: ResolvedLocation = call._where  # type: ignore[attr-defined]
    data = {
        "call": call.pk,
        "psap": call._psap_code,  # type: ignore[attr-defined]
        "incident": call.incident_id,
        "class_of_service": call.class_of_service,
        "callback_number": call.callback_number,
        "lat": call.lat,
        "lon": call.lon,
        "uncertainty_m": call.uncertainty_m,
        "civic_address": call.civic_address,
        "location_text": call.location_text,
        "place": where.place.pk if where.place else None,
        "town": where.answer.town,
        "in_state": where.answer.in_state,
        "nearest_town": where.answer.nearest_town,
        "location_basis": where.basis,
        "received_at": iso(call.received_at),
        "answered_at": iso(call.answered_at),
        "source_ref": call.source_ref,
    }
    pending.events.insert(0, (call_stream(call.pk), Kind.CALL_RECEIVED, data))


def intake_call(
    *,
    nature: str | None = None,
    priority: int | None = None,
    attach_to: Incident | None = None,
    new_incident: bool = False,
    persons: list[str] | None = None,
    **call_fields: Any,
) -> Intake:
    """Receive a call and, in the same transaction, give it an incident (POST /calls).

    `call_fields` are receive_call's. Then:
    - `attach_to`: the call joins that open incident (the call-taker picked a duplicate).
    - else with a `nature`: open incidents nearby of a compatible discipline (duplicates.py)
      are looked for; when there are some and `new_incident` is False, no incident is made and
      the candidates are returned for the call-taker to link; otherwise a new incident is
      created from the call with the nature's default priority (or `priority`).
    - no nature: the call alone (the call-taker picks the nature later).
    Cautions near the point, and person cautions naming one of `persons` (the people the
    caller names), are returned (and recorded on a new incident's timeline). A retry
    with a known source_ref returns the first answer's call and incident, created=False.

    Lean on purpose (the intake path must sustain hundreds of calls a second): one locate,
    the incident made before the call row so the call is inserted once with it, one event per
    stream touched.
    """
    user: User | None = call_fields.get("call_taker")
    request: HttpRequest | None = call_fields.get("request")
    nature_code = nature_by_code(nature) if nature else None
    if nature_code is not None and priority is not None:
        check_priority(priority, nature_code)
    try:
        with transaction.atomic():
            pending = Pending(user)
            call = _prepare(**call_fields)
            answer = answer_of(call)
            if not getattr(call, "created", True):
                return Intake(call, answer, created=False, incident=call.incident)
            where: ResolvedLocation = call._where  # type: ignore[attr-defined]
            intake = Intake(call, answer, created=True)
            intake.cautions = cautions_near(where.lat, where.lon, persons)
            if nature_code is not None and attach_to is None:
                if not new_incident:
                    intake.duplicates = find_duplicates(
                        psap_id=call.psap_id,
                        lat=where.lat,
                        lon=where.lon,
                        discipline=nature_code.discipline,
                        at=call.received_at,
                    )
                if not intake.duplicates:
                    intake.incident = insert_incident(
                        pending,
                        psap_id=call.psap_id,
                        psap_code=call._psap_code,  # type: ignore[attr-defined]
                        nature=nature_code,
                        priority=priority,
                        source=IncidentSource.CALL,
                        user=user,
                        where=where,
                        location_text=call.location_text or call.civic_address,
                        cautions=intake.cautions,
                        request=request,
                    )
                    call.incident = intake.incident
            _insert(pending, call, user, request)
            if intake.incident is not None:
                intake.incident._created_event["call"] = call.pk  # type: ignore[attr-defined]
            elif attach_to is not None:
                intake.incident = attach(pending, call, attach_to, user, request=request)
            pending.flush()
    except IntegrityError:
        # Two retries raced on the source_ref unique index: the loser answers as a retry.
        source_ref = clean_text("source_ref", call_fields.get("source_ref"), 64)
        found = _existing(source_ref, **_identity(call_fields)) if source_ref else None
        if found is None:
            raise
        return Intake(found, answer_of(found), created=False, incident=found.incident)
    return intake
