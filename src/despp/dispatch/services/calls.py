"""911 calls: receive, answer, release, abandon (to the callback queue), callbacks, transfer.

Every function here validates first (django ValidationError naming the field: a 422 through the
API, nothing written), changes state in one transaction, records the access audit, and appends
its events to `call:<id>` (and `incident:<id>` when an incident is touched) as the last writes.
A change the call's state does not allow is a `Conflict` (409); rows that two people may
change at once are locked with select_for_update first.

Call states:  ringing -> answered -> released
              ringing | answered -> abandoned   (callback queue: pending -> no_answer ... ->
                                                  reached | unreachable)
              ringing | answered -> transferred  (to another PSAP, reason logged)
"""

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
from despp.core.models import Agency, AgencyKind, AuditAction, User
from despp.dispatch.duplicates import DuplicateCandidate, find_duplicates
from despp.dispatch.events import Kind, call_stream, incident_stream
from despp.dispatch.geo_search import ResolvedLocation, resolve_location, town_answers
from despp.dispatch.models import (
    Call,
    CallbackStatus,
    CallStatus,
    Caution,
    ClassOfService,
    Incident,
    IncidentSource,
    NatureCode,
)
from despp.dispatch.services._common import (
    MAX_REASON,
    Pending,
    check_time,
    clean_text,
    iso,
)

_CALLBACK_NUMBER = re.compile(r"^\+?[0-9 ().\-]{3,20}$")
_OPEN_CALL = (CallStatus.RINGING, CallStatus.ANSWERED)
CALLBACK_QUEUE = (CallbackStatus.PENDING, CallbackStatus.NO_ANSWER)


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


def _answer_of(call: Call) -> Jurisdiction:
    """The jurisdiction answer recorded for a call (no new locate for in-state calls)."""
    cached: Jurisdiction | None = getattr(call, "_answer", None)
    if cached is not None:
        return cached
    if call.town_id is not None:
        found = town_answers().by_id.get(call.town_id)
        if found is not None:
            return found
    if call.lat is not None and call.lon is not None:
        from despp.core.jurisdiction import locate

        return locate(call.lat, call.lon)
    return Jurisdiction(in_state=call.in_state)


def jurisdiction_of(call: Call) -> Jurisdiction:
    return _answer_of(call)


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
    call = Call.objects.select_related("psap", "town", "place", "incident").filter(
        source_ref=source_ref
    )
    found = call.first()
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
    psap_id, psap_code = _route(psap, where)
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


def _route(psap: Agency | None, where: ResolvedLocation) -> tuple[int, str]:
    if psap is not None:
        if psap.kind != AgencyKind.PSAP or not psap.active:
            raise ValidationError({"psap": f"{psap.code} is not an active PSAP"})
        return psap.pk, psap.code
    if where.psap_id is None or where.psap_code is None:
        town = where.answer.town or where.answer.nearest_town or "this location"
        raise ValidationError({"psap": f"no PSAP is recorded for {town}; name the PSAP"})
    return where.psap_id, where.psap_code


def intake_call(
    *,
    nature: str | None = None,
    priority: int | None = None,
    attach_to: Incident | None = None,
    new_incident: bool = False,
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
    Cautions near the point are returned (and recorded on a new incident's timeline). A retry
    with a known source_ref returns the first answer's call and incident, created=False.

    Lean on purpose (the intake path must sustain hundreds of calls a second): one locate,
    the incident made before the call row so the call is inserted once with it, one event per
    stream touched.
    """
    from despp.dispatch.services.incidents import _attach, _cautions_for, _create_incident

    user: User | None = call_fields.get("call_taker")
    request: HttpRequest | None = call_fields.get("request")
    nature_code = _nature(nature) if nature else None
    if nature_code is not None and priority is not None:
        from despp.dispatch.services.incidents import _priority

        _priority(priority, nature_code)
    try:
        with transaction.atomic():
            pending = Pending(user)
            call = _prepare(**call_fields)
            answer = _answer_of(call)
            if not getattr(call, "created", True):
                return Intake(call, answer, created=False, incident=call.incident)
            where: ResolvedLocation = call._where  # type: ignore[attr-defined]
            intake = Intake(call, answer, created=True)
            intake.cautions = _cautions_for(where.lat, where.lon)
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
                    intake.incident = _create_incident(
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
                intake.incident = _attach(pending, call, attach_to, user, request=request)
            pending.flush()
    except IntegrityError:
        # Two retries raced on the source_ref unique index: the loser answers as a retry.
        source_ref = clean_text("source_ref", call_fields.get("source_ref"), 64)
        found = _existing(source_ref, **_identity(call_fields)) if source_ref else None
        if found is None:
            raise
        return Intake(found, _answer_of(found), created=False, incident=found.incident)
    return intake


def answer_psap_code(call: Call, answer: Jurisdiction) -> str:
    """The PSAP code for event data without a query when the call was routed by location."""
    routed = getattr(call, "_where", None)
    if routed is not None and routed.psap_id == call.psap_id and routed.psap_code:
        return str(routed.psap_code)
    return str(call.psap.code)


def _nature(code: str) -> NatureCode:
    found = NatureCode.objects.filter(code=code.strip().upper()).first()
    if found is None:
        raise ValidationError({"nature": f"{code!r} is not a nature code"})
    if not found.active:
        raise ValidationError({"nature": f"{found.code} is retired; pick another nature code"})
    return found


def _lock_call(call: Call) -> Call:
    locked = Call.objects.select_for_update().select_related("psap").get(pk=call.pk)
    return locked


def answer_call(
    call: Call, user: User, *, at: datetime | None = None, request: HttpRequest | None = None
) -> Call:
    """Ringing -> answered by `user` at `at` (default now). 409 from any other state."""
    now = timezone.now()
    at = check_time("answered_at", at, now) or now
    with transaction.atomic():
        call = _lock_call(call)
        if call.status != CallStatus.RINGING:
            raise Conflict(
                f"call {call.pk} is {call.get_status_display().lower()}, not ringing",
                current_state=call.status,
            )
        if at < call.received_at:
            raise ValidationError({"answered_at": "is before the call was received"})
        call.status = CallStatus.ANSWERED
        call.answered_at = at
        call.call_taker = user
        call.save(update_fields=["status", "answered_at", "call_taker"])
        _audit(call, user, request)
        _event(call, Kind.CALL_ANSWERED, user, answered_at=iso(at))
    return call


def release_call(
    call: Call, user: User, *, at: datetime | None = None, request: HttpRequest | None = None
) -> Call:
    """Answered -> released (the line is cleared). 409 from any other state."""
    now = timezone.now()
    at = check_time("released_at", at, now) or now
    with transaction.atomic():
        call = _lock_call(call)
        if call.status != CallStatus.ANSWERED:
            raise Conflict(
                f"call {call.pk} is {call.get_status_display().lower()}; only an answered "
                "call can be released",
                current_state=call.status,
            )
        call.status = CallStatus.RELEASED
        call.released_at = at
        call.save(update_fields=["status", "released_at"])
        _audit(call, user, request)
        _event(call, Kind.CALL_RELEASED, user, released_at=iso(at))
    return call


def abandon_call(
    call: Call,
    user: User | None,
    *,
    at: datetime | None = None,
    request: HttpRequest | None = None,
) -> Call:
    """Ringing or answered -> abandoned (the caller hung up or the line dropped).

    The call joins the callback queue (callback_status pending), or is marked unreachable at
    once when it has no callback number (the event says why). 409 from other states.
    """
    now = timezone.now()
    at = check_time("released_at", at, now) or now
    with transaction.atomic():
        call = _lock_call(call)
        if call.status not in _OPEN_CALL:
            raise Conflict(
                f"call {call.pk} is {call.get_status_display().lower()} and cannot be abandoned",
                current_state=call.status,
            )
        call.status = CallStatus.ABANDONED
        call.released_at = at
        call.callback_status = (
            CallbackStatus.PENDING if call.callback_number else CallbackStatus.UNREACHABLE
        )
        call.save(update_fields=["status", "released_at", "callback_status"])
        _audit(call, user, request)
        _event(
            call,
            Kind.CALL_ABANDONED,
            user,
            released_at=iso(at),
            callback_status=call.callback_status,
            reason="" if call.callback_number else "no callback number",
        )
    return call


def record_callback(
    call: Call,
    outcome: str,
    user: User,
    *,
    note: str | None = None,
    request: HttpRequest | None = None,
) -> Call:
    """One callback attempt on a queued call: `outcome` reached, no_answer (stays queued) or
    unreachable (leaves the queue; `note` giving the reason is required). Counts attempts.
    409 when the call is not in the callback queue (someone else closed it first)."""
    allowed = (CallbackStatus.REACHED, CallbackStatus.NO_ANSWER, CallbackStatus.UNREACHABLE)
    if outcome not in allowed:
        raise ValidationError({"outcome": f"must be one of {', '.join(allowed)}"})
    text = clean_text("note", note, MAX_REASON, required=outcome == CallbackStatus.UNREACHABLE)
    with transaction.atomic():
        call = _lock_call(call)
        if call.callback_status not in CALLBACK_QUEUE:
            raise Conflict(
                f"call {call.pk} is not waiting for a callback "
                f"({call.get_callback_status_display().lower()})",
                current_state=call.callback_status,
            )
        call.callback_status = outcome
        call.callback_attempts += 1
        call.save(update_fields=["callback_status", "callback_attempts"])
        _audit(call, user, request)
        _event(
            call,
            Kind.CALL_CALLBACK,
            user,
            outcome=outcome,
            attempt=call.callback_attempts,
            note=text,
        )
    return call


def transfer_call(
    call: Call,
    to_psap: Agency,
    reason: str,
    user: User,
    *,
    request: HttpRequest | None = None,
) -> Call:
    """Hand a ringing or answered call to another PSAP, with the reason (required).

    The call stays in its first PSAP's records (its answer and transfer times count there) and
    becomes visible to the receiving PSAP. 409 when the call is closed, already transferred,
    or attached to an incident (transfer the incident by EIDO instead).
    """
    text = clean_text("reason", reason, MAX_REASON, required=True)
    if to_psap.kind != AgencyKind.PSAP or not to_psap.active:
        raise ValidationError({"to_psap": f"{to_psap.code} is not an active PSAP"})
    with transaction.atomic():
        call = _lock_call(call)
        if call.psap_id == to_psap.pk:
            raise ValidationError({"to_psap": "is the PSAP that already has the call"})
        if call.status not in _OPEN_CALL:
            raise Conflict(
                f"call {call.pk} is {call.get_status_display().lower()} and cannot be transferred",
                current_state=call.status,
            )
        if call.incident_id is not None:
            raise Conflict(
                f"call {call.pk} is part of incident {call.incident_id}; send the incident "
                "to the other PSAP instead",
                incident=call.incident_id,
            )
        now = timezone.now()
        call.status = CallStatus.TRANSFERRED
        call.transferred_at = now
        call.transferred_to = to_psap
        call.transfer_reason = text
        call.save(update_fields=["status", "transferred_at", "transferred_to", "transfer_reason"])
        _audit(call, user, request)
        _event(
            call,
            Kind.CALL_TRANSFERRED,
            user,
            to_psap=to_psap.code,
            reason=text,
            transferred_at=iso(now),
        )
    return call


def _audit(call: Call, user: User | None, request: HttpRequest | None) -> None:
    audit.record(
        AuditAction.UPDATE, request=request, user=user, object_type="call", object_id=call.pk
    )


def _event(call: Call, kind: str, user: User | None, **data: Any) -> None:
    pending = Pending(user)
    pending.add(call_stream(call.pk), kind, {"call": call.pk, "psap": call.psap.code, **data})
    if call.incident_id is not None:
        pending.add(
            incident_stream(call.incident_id),
            kind,
            {"call": call.pk, "incident": call.incident_id, "psap": call.psap.code, **data},
        )
    pending.flush()
