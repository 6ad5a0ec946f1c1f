"""/api/dispatch calls: POST /calls (intake), GET /calls/{id}, the call actions (answer,
release, abandon, transfer, callback, attach) and GET /callbacks (the callback queue); the
incident, place and nature-code routes are in api_incidents.py, mounted on this router.
Thin: validation of shapes here (pydantic), of meaning in the services; reads through
selectors (another PSAP's call or incident is a 404).

Permissions: taking and handling calls `call.create`; reading calls `call.view`; creating,
linking, merging, splitting, annotating and closing incidents `incident.update` (a call-taker
opens the incident of a call through POST /calls with `nature`); reading incidents, places and
nature codes `incident.view`. A PSAP named explicitly must be one the caller serves. Every
read of a call or incident is in the access audit.
"""

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Status
from ninja.errors import HttpError
from pydantic import AwareDatetime, Field

from despp.core import audit
from despp.core.api_auth import staff_auth
from despp.core.api_geography import LocateOut
from despp.core.jurisdiction import ReferenceNotLoadedError
from despp.core.models import AuditAction, User
from despp.core.permissions import Action
from despp.dispatch import api_incidents, selectors
from despp.dispatch.api_calls_support import (
    CallIn,
    CallOut,
    IntakeOut,
    StrictIn,
    agency_by_code,
    call_out,
    caller,
    caution_out,
    duplicate_out,
    incident_out,
    jurisdiction_out,
    own_psap,
    read_audit,
)
from despp.dispatch.models import (
    Call,
)
from despp.dispatch.services import calls as call_services
from despp.dispatch.services import incidents as incident_services

router = Router(auth=staff_auth, tags=["dispatch: calls"])
router.add_router("", api_incidents.router)


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
    user = caller(request, Action.CALL_CREATE)
    attach_to = selectors.incident_for(user, body.attach_to) if body.attach_to else None
    try:
        intake = call_services.intake_call(
            psap=own_psap(request, user, body.psap, "psap"),
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
            persons=body.persons,
        )
    except ReferenceNotLoadedError as exc:
        raise HttpError(503, str(exc)) from exc
    call = intake.call
    names = _intake_names(intake)
    fresh = intake.created and attach_to is None
    out = IntakeOut(
        call=call_out(call, names if intake.created else None),
        jurisdiction=LocateOut(**jurisdiction_out(intake.answer)),
        incident=incident_out(intake.incident, names if fresh else None)
        if intake.incident is not None
        else None,
        duplicates=[duplicate_out(candidate, names["psap"]) for candidate in intake.duplicates],
        cautions=[caution_out(caution) for caution in intake.cautions],
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
    user = caller(request, Action.CALL_VIEW)
    call = selectors.call_for(user, call_id)
    read_audit(request, "call", call.pk)
    return call_out(call)


class CallTimeIn(StrictIn):
    at: AwareDatetime | None = Field(None, description="when; default now")


@router.post("/calls/{call_id}/answer", response=CallOut, summary="Answer a ringing call")
def answer(request: HttpRequest, call_id: int, body: CallTimeIn | None = None) -> CallOut:
    user = caller(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    at = body.at if body else None
    return call_out(_reload(user, call_services.answer_call(call, user, at=at, request=request)))


@router.post("/calls/{call_id}/release", response=CallOut, summary="Release an answered call")
def release(request: HttpRequest, call_id: int, body: CallTimeIn | None = None) -> CallOut:
    user = caller(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    at = body.at if body else None
    return call_out(_reload(user, call_services.release_call(call, user, at=at, request=request)))


@router.post(
    "/calls/{call_id}/abandon",
    response=CallOut,
    summary="Mark a call abandoned (it joins the callback queue)",
)
def abandon(request: HttpRequest, call_id: int, body: CallTimeIn | None = None) -> CallOut:
    user = caller(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    at = body.at if body else None
    return call_out(_reload(user, call_services.abandon_call(call, user, at=at, request=request)))


class CallTransferIn(StrictIn):
    to_psap: str = Field(..., max_length=60, description="the receiving PSAP's agency code")
    reason: str = Field(..., max_length=200)


@router.post("/calls/{call_id}/transfer", response=CallOut, summary="Transfer to another PSAP")
def transfer(request: HttpRequest, call_id: int, body: CallTransferIn) -> CallOut:
    user = caller(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    to_psap = agency_by_code(body.to_psap, "to_psap")
    assert to_psap is not None  # noqa: S101 - _psap returns an agency for a code
    done = call_services.transfer_call(call, to_psap, body.reason, user, request=request)
    return call_out(_reload(user, done))


class CallbackAttemptIn(StrictIn):
    outcome: Literal["reached", "no_answer", "unreachable"]
    note: str = Field("", max_length=200, description="required when unreachable")


@router.post("/calls/{call_id}/callback", response=CallOut, summary="Record a callback attempt")
def callback(request: HttpRequest, call_id: int, body: CallbackAttemptIn) -> CallOut:
    user = caller(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    done = call_services.record_callback(call, body.outcome, user, note=body.note, request=request)
    return call_out(_reload(user, done))


class CallAttachIn(StrictIn):
    incident: int = Field(..., ge=1)


@router.post(
    "/calls/{call_id}/attach", response=CallOut, summary="Attach a call to an open incident"
)
def attach(request: HttpRequest, call_id: int, body: CallAttachIn) -> CallOut:
    user = caller(request, Action.CALL_CREATE)
    call = selectors.call_for(user, call_id)
    incident = selectors.incident_for(user, body.incident)
    incident_services.attach_call(call, incident, user, request=request)
    return call_out(_reload(user, call))


def _reload(user: User, call: Call) -> Call:
    return selectors.call_for(user, call.pk)


@router.get(
    "/callbacks",
    response=list[CallOut],
    summary="The callback queue: abandoned calls waiting for a callback, oldest first",
)
def callbacks(request: HttpRequest) -> list[CallOut]:
    user = caller(request, Action.CALL_VIEW)
    queue = list(selectors.callback_queue(user)[:500])
    audit.record(
        AuditAction.SEARCH, request=request, object_type="call", detail={"callbacks": len(queue)}
    )
    return [call_out(call) for call in queue]
