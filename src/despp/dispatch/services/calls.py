"""911 calls: receive (intake.py), answer, release, abandon (to the callback queue),
callbacks, transfer.

Every function validates first (django ValidationError naming the field: a 422 through the
API, nothing written), changes state in one transaction, records the access audit, and appends
its events to `call:<id>` (and `incident:<id>` when the call has an incident) as the last
writes. A change the call's state does not allow is a `Conflict` (409); the call row is locked
(select_for_update) first, so two people acting on one call serialise and the second is told.

Call states:  ringing -> answered -> released
              ringing | answered -> abandoned   (callback queue: pending -> no_answer ... ->
                                                  reached | unreachable)
              ringing | answered -> transferred  (to another PSAP, reason logged)
"""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit
from despp.core.errors import Conflict
from despp.core.models import Agency, AgencyKind, AuditAction, User
from despp.dispatch.events import Kind, call_stream, incident_stream
from despp.dispatch.models import Call, CallbackStatus, CallStatus
from despp.dispatch.services._common import MAX_REASON, Pending, check_time, clean_text, iso
from despp.dispatch.services._lookup import answer_psap_code, jurisdiction_of
from despp.dispatch.services.intake import Intake, intake_call, receive_call

__all__ = [
    "CALLBACK_QUEUE",
    "Intake",
    "abandon_call",
    "answer_call",
    "answer_psap_code",
    "intake_call",
    "jurisdiction_of",
    "receive_call",
    "record_callback",
    "release_call",
    "transfer_call",
]

_OPEN_CALL = (CallStatus.RINGING, CallStatus.ANSWERED)
CALLBACK_QUEUE = (CallbackStatus.PENDING, CallbackStatus.NO_ANSWER)


def _lock_call(call: Call) -> Call:
    locked = Call.objects.select_for_update(of=("self",)).select_related("psap").get(pk=call.pk)
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
