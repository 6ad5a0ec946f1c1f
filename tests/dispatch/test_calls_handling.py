"""Answer, release, abandon, the callback queue, transfer, and who may do each (permission
walks: anonymous, no role, the permitted role, the same role at another PSAP)."""

from typing import Any

import pytest
from django.test import Client

from despp.core.models import AccessAudit, Agency, Event, User
from despp.dispatch.models import Call, CallbackStatus, CallStatus, Incident
from tests.dispatch.calls_fixtures import (  # noqa: F401
    GOSHEN,
    call_body,
    dispatch_data,
    reference_data,
    reference_snapshot,
)

pytestmark = pytest.mark.usefixtures("dispatch_data")


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


def ringing_call(client: Client, **overrides: Any) -> int:
    response = post(client, "/api/dispatch/calls", call_body(nature=None, **overrides))
    assert response.status_code == 201, response.content
    return int(response.json()["call"]["id"])


def writes() -> tuple[int, int, int]:
    return Call.objects.count(), Incident.objects.count(), Event.objects.count()


def test_a_call_is_answered_then_released_and_each_step_is_on_its_stream(
    calltaker: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    call_id = ringing_call(client)
    assert Call.objects.get(pk=call_id).status == CallStatus.RINGING
    answered = post(client, f"/api/dispatch/calls/{call_id}/answer")
    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "answered"
    assert answered.json()["answered_at"] is not None
    released = post(client, f"/api/dispatch/calls/{call_id}/release")
    assert released.json()["status"] == "released"
    kinds = list(
        Event.objects.filter(stream=f"call:{call_id}").order_by("position").values_list("kind")
    )
    assert [k for (k,) in kinds] == ["call.received", "call.answered", "call.released"]


def test_answering_twice_is_a_conflict_and_changes_nothing(calltaker: User, sign_in: Any) -> None:
    client = sign_in(calltaker)
    call_id = ringing_call(client)
    post(client, f"/api/dispatch/calls/{call_id}/answer")
    before = writes()
    again = post(client, f"/api/dispatch/calls/{call_id}/answer")
    assert again.status_code == 409
    assert again.json()["current_state"] == "answered"
    assert writes() == before


def test_an_abandoned_call_joins_the_callback_queue_until_the_caller_is_reached(
    calltaker: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    call_id = ringing_call(client)
    abandoned = post(client, f"/api/dispatch/calls/{call_id}/abandon")
    assert abandoned.json()["status"] == "abandoned"
    assert abandoned.json()["callback_status"] == "pending"
    queue = client.get("/api/dispatch/callbacks").json()
    assert [row["id"] for row in queue] == [call_id]
    first = post(client, f"/api/dispatch/calls/{call_id}/callback", {"outcome": "no_answer"})
    assert first.json()["callback_attempts"] == 1
    assert [row["id"] for row in client.get("/api/dispatch/callbacks").json()] == [call_id]
    reached = post(client, f"/api/dispatch/calls/{call_id}/callback", {"outcome": "reached"})
    assert reached.json()["callback_status"] == "reached"
    assert reached.json()["callback_attempts"] == 2
    assert client.get("/api/dispatch/callbacks").json() == []
    attempts = Event.objects.filter(stream=f"call:{call_id}", kind="call.callback")
    assert [e.data["outcome"] for e in attempts.order_by("position")] == ["no_answer", "reached"]
    late = post(client, f"/api/dispatch/calls/{call_id}/callback", {"outcome": "reached"})
    assert late.status_code == 409


def test_giving_up_on_a_callback_needs_the_reason(calltaker: User, sign_in: Any) -> None:
    client = sign_in(calltaker)
    call_id = ringing_call(client)
    post(client, f"/api/dispatch/calls/{call_id}/abandon")
    before = writes()
    refused = post(client, f"/api/dispatch/calls/{call_id}/callback", {"outcome": "unreachable"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "note"
    assert writes() == before
    done = post(
        client,
        f"/api/dispatch/calls/{call_id}/callback",
        {"outcome": "unreachable", "note": "number out of service, three tries"},
    )
    assert done.json()["callback_status"] == "unreachable"


def test_an_abandoned_call_without_a_callback_number_is_marked_unreachable_at_once(
    calltaker: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    call_id = ringing_call(client, callback_number="")
    abandoned = post(client, f"/api/dispatch/calls/{call_id}/abandon")
    assert abandoned.json()["callback_status"] == CallbackStatus.UNREACHABLE
    event = Event.objects.get(stream=f"call:{call_id}", kind="call.abandoned")
    assert event.data["reason"] == "no callback number"


def test_a_transfer_names_the_other_psap_and_the_reason_and_it_then_sees_the_call(
    calltaker: User, dispatcher_w: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    call_id = ringing_call(client)
    other = sign_in(dispatcher_w)
    assert other.get(f"/api/dispatch/calls/{call_id}").status_code == 404
    before = writes()
    no_reason = post(
        client, f"/api/dispatch/calls/{call_id}/transfer", {"to_psap": "psap-csp-western"}
    )
    assert no_reason.status_code == 422
    assert writes() == before
    moved = post(
        client,
        f"/api/dispatch/calls/{call_id}/transfer",
        {"to_psap": "psap-csp-western", "reason": "caller is in Goshen"},
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "transferred"
    assert moved.json()["transferred_to"] == "psap-csp-western"
    assert moved.json()["psap"] == "psap-csp-eastern"  # answer-to-transfer counts there
    event = Event.objects.get(stream=f"call:{call_id}", kind="call.transferred")
    assert event.data["reason"] == "caller is in Goshen"
    assert other.get(f"/api/dispatch/calls/{call_id}").status_code == 200
    again = post(
        client,
        f"/api/dispatch/calls/{call_id}/transfer",
        {"to_psap": "psap-csp-western", "reason": "again"},
    )
    assert again.status_code == 409


def test_a_call_is_not_transferred_to_an_agency_that_is_no_psap(
    calltaker: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    call_id = ringing_call(client)
    refused = post(
        client,
        f"/api/dispatch/calls/{call_id}/transfer",
        {"to_psap": "csp-troop-c", "reason": "wrong"},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "to_psap"


def test_a_call_located_in_another_psaps_area_is_routed_there(
    calltaker: User, sign_in: Any
) -> None:
    response = post(
        sign_in(calltaker),
        "/api/dispatch/calls",
        call_body(lat=GOSHEN[0], lon=GOSHEN[1], nature=None),
    )
    assert response.status_code == 201
    assert response.json()["call"]["psap"] == "psap-csp-western"


# --- permission walks --------------------------------------------------------------------


def test_intake_refuses_anonymous_and_roleless_callers_and_writes_nothing(
    client: Client, norole: User, sign_in: Any
) -> None:
    before = writes()
    assert post(client, "/api/dispatch/calls", call_body()).status_code == 401
    refused = post(sign_in(norole), "/api/dispatch/calls", call_body())
    assert refused.status_code == 403
    assert writes() == before
    assert AccessAudit.objects.filter(user=norole, action="denied").exists()


def test_naming_another_psap_for_a_call_is_refused_and_writes_nothing(
    dispatcher_w: User, sign_in: Any
) -> None:
    before = writes()
    refused = post(sign_in(dispatcher_w), "/api/dispatch/calls", call_body(psap="psap-csp-eastern"))
    assert refused.status_code == 403
    assert "psap" in refused.json()["detail"]
    assert writes() == before


def test_a_trooper_may_not_take_calls_but_sees_incidents_in_the_troops_towns(
    calltaker: User, trooper: User, trooper_f: User, sign_in: Any
) -> None:
    made = post(sign_in(calltaker), "/api/dispatch/calls", call_body())
    incident_id = made.json()["incident"]["id"]
    call_id = made.json()["call"]["id"]
    troop_c = sign_in(trooper)
    assert post(troop_c, "/api/dispatch/calls", call_body()).status_code == 403
    assert troop_c.get(f"/api/dispatch/incidents/{incident_id}").status_code == 200
    assert troop_c.get(f"/api/dispatch/calls/{call_id}").status_code == 404  # calls: the PSAP's
    assert sign_in(trooper_f).get(f"/api/dispatch/incidents/{incident_id}").status_code == 404


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("answer", None),
        ("release", None),
        ("abandon", None),
        ("callback", {"outcome": "reached"}),
        ("transfer", {"to_psap": "psap-csp-western", "reason": "test"}),
    ],
)
def test_call_actions_walk_the_permission_matrix_and_refusals_write_nothing(
    url: str,
    body: dict[str, Any] | None,
    client: Client,
    calltaker: User,
    norole: User,
    dispatcher_w: User,
    records: User,
    sign_in: Any,
) -> None:
    owner = sign_in(calltaker)
    call_id = ringing_call(owner)
    path = f"/api/dispatch/calls/{call_id}/{url}"
    before = writes()
    assert post(client, path, body).status_code == 401
    assert post(sign_in(norole), path, body).status_code == 403
    assert post(sign_in(records), path, body).status_code == 403  # may view, not take calls
    assert post(sign_in(dispatcher_w), path, body).status_code == 404
    assert writes() == before
    assert Call.objects.get(pk=call_id).status == CallStatus.RINGING


def test_reads_of_calls_walk_the_permission_matrix(
    client: Client, calltaker: User, norole: User, dispatcher_w: User, sign_in: Any
) -> None:
    call_id = ringing_call(sign_in(calltaker))
    path = f"/api/dispatch/calls/{call_id}"
    assert client.get(path).status_code == 401
    assert sign_in(norole).get(path).status_code == 403
    assert sign_in(dispatcher_w).get(path).status_code == 404
    assert sign_in(calltaker).get(path).status_code == 200
    assert AccessAudit.objects.filter(
        user=calltaker, action="read", object_type="call", object_id=str(call_id)
    ).exists()
    assert sign_in(dispatcher_w).get("/api/dispatch/callbacks").json() == []


def test_a_token_takes_calls_like_a_session(calltaker: User) -> None:
    from despp.core import tokens

    raw = tokens.issue_token(calltaker, name="cad interface", actor=calltaker).plaintext
    response = Client().post(
        "/api/dispatch/calls",
        call_body(),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201
    assert Agency.objects.get(code=response.json()["call"]["psap"]).kind == "psap"
