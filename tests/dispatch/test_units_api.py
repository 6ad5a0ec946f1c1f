"""The units API: board, unit, position, service, emergency, dispatch, status, clear.

Permission walks (anonymous, no role, permitted, same role in another agency) and the shape
of refusals: every 4xx is problem+json naming the field, and a refusal writes nothing.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from despp.core.models import AccessAudit, Agency, Event, Troop, User
from despp.dispatch.events import Kind, unit_stream
from despp.dispatch.models import (
    Assignment,
    AssignmentStatus,
    StatusThreshold,
    Unit,
    UnitKind,
)
from tests.dispatch import unit_helpers as make

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"
S = AssignmentStatus


@pytest.fixture
def floor(agencies: dict[str, Agency]) -> dict[str, Any]:
    psap = agencies["psap-csp-eastern"]
    troop = agencies["csp-troop-c"]
    Troop.objects.get_or_create(code="C", defaults={"agency": troop, "dispatch_center": psap})
    return {
        "psap": psap,
        "troop": troop,
        "a": make.incident(psap),
        "b": make.incident(psap, lat=41.79, lon=-72.23),
        "c112": make.unit("C-112", troop),
        "c114": make.unit("C-114", troop, lat=41.80, lon=-72.25),
        "f411": make.unit("F-411", agencies["csp-troop-f"]),  # not the eastern PSAP's
    }


def _post(client: Client, path: str, body: Any = None) -> Any:
    return client.post(f"/api/dispatch{path}", body or {}, content_type="application/json")


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# --- the board ---------------------------------------------------------------------------


def test_the_board_lists_home_units_with_derived_status_and_the_timer(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    StatusThreshold.objects.create(
        status=S.DISPATCHED, warn_after_s=60, alarm_after_s=120, label="confirm"
    )
    client = sign_in(dispatcher)
    [assigned] = _post(client, f"/incidents/{floor['a'].pk}/dispatch", {"units": ["C-112"]}).json()
    Assignment.objects.filter(pk=assigned["id"]).update(
        status_at=timezone.now() - timedelta(seconds=90)
    )

    response = client.get("/api/dispatch/units")

    assert response.status_code == 200
    rows = {row["call_sign"]: row for row in response.json()}
    assert set(rows) == {"C-112", "C-114"}  # Troop F's car is not this PSAP's
    assert rows["C-112"]["status"] == "committed"
    timer = rows["C-112"]["committed"]["timer"]
    assert (timer["warn"], timer["alarm"], timer["threshold"]) == (True, False, "confirm")
    assert timer["seconds_in_status"] >= 90
    assert rows["C-114"]["status"] == "available" and rows["C-114"]["committed"] is None
    everyone = client.get("/api/dispatch/units?scope=all").json()
    assert {row["call_sign"]: row["home"] for row in everyone}["F-411"] is False


def test_the_board_filters_by_status_kind_and_call_sign(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    make.unit("C-ENG", floor["troop"], kind=UnitKind.ENGINE)
    client = sign_in(dispatcher)
    Unit.objects.filter(pk=floor["c114"].pk).update(in_service=False)

    def signs(query: str) -> list[str]:
        return [row["call_sign"] for row in client.get(f"/api/dispatch/units?{query}").json()]

    assert signs("status=out_of_service") == ["C-114"]
    assert signs("kind=engine") == ["C-ENG"]
    assert signs("call_sign=c-11") == ["C-112", "C-114"]
    _problem(client.get("/api/dispatch/units?status=asleep"), 422)


def test_the_board_costs_the_same_few_queries_for_many_units(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/dispatch/units").status_code == 200
        return len(queries)

    few = count()
    for n in range(30):
        unit = make.unit(f"C-2{n:02d}", floor["troop"])
        incident = make.incident(floor["psap"])
        Assignment.objects.create(
            unit=unit,
            incident=incident,
            status=S.ON_SCENE,
            status_at=timezone.now(),
            assigned_by=dispatcher,
        )
    assert count() == few
    assert few <= 12


@pytest.mark.parametrize("who", ["anonymous", "norole"])
def test_the_board_needs_a_dispatch_floor_role(
    floor: dict[str, Any], who: str, persona: Any, sign_in: Any
) -> None:
    client = Client() if who == "anonymous" else sign_in(persona(who))
    response = client.get("/api/dispatch/units")
    _problem(response, 401 if who == "anonymous" else 403)


# --- position, service, emergency --------------------------------------------------------


def test_a_position_update_moves_the_unit_and_is_an_event_on_its_stream(
    floor: dict[str, Any], trooper: User, sign_in: Any
) -> None:
    response = _post(
        sign_in(trooper), f"/units/{floor['c112'].pk}/position", {"lat": 41.9, "lon": -72.3}
    )

    assert response.status_code == 200 and response.json()["applied"] is True
    floor["c112"].refresh_from_db()
    assert (floor["c112"].lat, floor["c112"].lon) == (41.9, -72.3)
    [event] = Event.objects.filter(stream=unit_stream(floor["c112"].pk))
    assert event.kind == Kind.UNIT_POSITION and event.data["lat"] == 41.9


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lat": 95, "lon": -72.3}, "lat"),
        ({"lat": 41.9, "lon": "east"}, "lon"),
        ({"lat": 41.9}, "lon"),
        ({"lat": 41.9, "lon": -72.3, "at": "2999-01-01T00:00:00Z"}, "at"),
        ({"lat": 41.9, "lon": -72.3, "speed": 3}, "speed"),
    ],
)
def test_a_bad_position_is_a_problem_naming_the_field_and_moves_nothing(
    floor: dict[str, Any], dispatcher: User, sign_in: Any, body: dict[str, Any], field: str
) -> None:
    response = _post(sign_in(dispatcher), f"/units/{floor['c112'].pk}/position", body)

    problem = _problem(response, 422)
    assert field in [error["field"] for error in problem["errors"]]
    floor["c112"].refresh_from_db()
    assert floor["c112"].lat == 41.88
    assert not Event.objects.filter(stream=unit_stream(floor["c112"].pk)).exists()


def test_an_older_fix_than_the_stored_one_is_ignored(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    old = (timezone.now() - timedelta(minutes=5)).isoformat()
    response = _post(
        sign_in(dispatcher),
        f"/units/{floor['c112'].pk}/position",
        {"lat": 41.0, "lon": -73.0, "at": old},
    )
    assert response.status_code == 200 and response.json()["applied"] is False
    assert response.json()["lat"] == 41.88


def test_another_psaps_unit_is_not_found_for_position_or_service(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)
    _problem(_post(client, f"/units/{floor['f411'].pk}/position", {"lat": 41, "lon": -72}), 404)
    _problem(_post(client, f"/units/{floor['f411'].pk}/service", {"in_service": False}), 404)
    assert Unit.objects.get(pk=floor["f411"].pk).in_service


def test_out_of_service_needs_a_reason_and_is_refused_while_committed_unless_forced(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)
    path = f"/units/{floor['c112'].pk}/service"
    problem = _problem(_post(client, path, {"in_service": False}), 422)
    assert problem["errors"][0]["field"] == "reason"
    _post(client, f"/incidents/{floor['a'].pk}/dispatch", {"units": [floor["c112"].pk]})

    refused = _problem(_post(client, path, {"in_service": False, "reason": "engine light"}), 409)
    assert floor["a"].display_number in refused["detail"]
    assert refused["committed_incident"] == floor["a"].pk

    forced = _post(client, path, {"in_service": False, "reason": "engine light", "force": True})
    assert forced.status_code == 200
    assert forced.json()["status"] == "out_of_service"
    assert forced.json()["committed"]["incident"] == floor["a"].pk  # still there until cleared
    back = _post(client, path, {"in_service": True})
    assert back.json()["status"] == "committed"


def test_the_emergency_button_alerts_every_console_until_a_dispatcher_acknowledges(
    floor: dict[str, Any], trooper: User, dispatcher: User, dispatcher_w: User, sign_in: Any
) -> None:
    path = f"/units/{floor['c112'].pk}/emergency"
    raised = _post(sign_in(trooper), path)
    assert raised.status_code == 201 and raised.json()["unit"]["emergency_at"]
    assert _post(sign_in(trooper), path).status_code == 200  # pressed again: still the one

    [event] = Event.objects.filter(stream=unit_stream(floor["c112"].pk))
    assert (event.kind, event.data["alert"]) == (Kind.UNIT_EMERGENCY, "emergency")
    _problem(_post(sign_in(trooper), f"{path}/ack"), 403)  # a trooper does not acknowledge
    # Any dispatcher may acknowledge: the alert reached every console.
    acked = _post(sign_in(dispatcher_w), f"{path}/ack")
    assert acked.status_code == 200 and acked.json()["emergency_at"] is None
    assert Event.objects.filter(kind=Kind.UNIT_EMERGENCY_ACK).count() == 1
    _problem(_post(sign_in(dispatcher), f"{path}/ack"), 409)  # nothing open any more


# --- dispatch, status, clear -------------------------------------------------------------


def test_dispatch_by_call_sign_then_status_then_clear(
    floor: dict[str, Any], dispatcher: User, trooper: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)
    response = _post(client, f"/incidents/{floor['a'].pk}/dispatch", {"units": ["c-112"]})
    assert response.status_code == 201
    [assignment] = response.json()
    assert (assignment["call_sign"], assignment["status"]) == ("C-112", "dispatched")

    # The trooper updates their own car's status.
    moved = _post(
        sign_in(trooper), f"/assignments/{assignment['id']}/status", {"status": "en_route"}
    )
    assert moved.status_code == 200 and moved.json()["en_route_at"]
    cleared = _post(client, f"/assignments/{assignment['id']}/clear", {"reason": "done"})
    assert cleared.json()["status"] == "cleared"


def test_a_second_dispatch_of_a_committed_unit_is_a_409_problem_naming_where(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)
    _post(client, f"/incidents/{floor['a'].pk}/dispatch", {"units": ["C-112"]})

    problem = _problem(
        _post(client, f"/incidents/{floor['b'].pk}/dispatch", {"units": ["C-112"]}), 409
    )

    assert problem["type"].endswith("/conflict")
    assert problem["unit"] == "C-112"
    assert problem["committed_incident_number"] == floor["a"].display_number
    assert f"incident {floor['a'].display_number}" in problem["detail"]
    assert not Assignment.objects.filter(incident=floor["b"]).exists()


def test_an_invalid_transition_is_a_409_problem_with_the_tables_message(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)
    [assignment] = _post(
        client, f"/incidents/{floor['a'].pk}/dispatch", {"units": ["C-112"]}
    ).json()

    problem = _problem(
        _post(client, f"/assignments/{assignment['id']}/status", {"status": "transporting"}), 409
    )

    assert "cannot go to transporting" in problem["detail"]
    assert (problem["current_state"], problem["requested_state"]) == ("dispatched", "transporting")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"units": []}, "units"),
        ({"units": ["C-112", "NOPE-1"]}, "units.1"),
        ({"units": [999999]}, "units.0"),
        ({"units": ["C-112"], "override_reason": "x" * 201}, "override_reason"),
        ({"units": ["C-112"], "mystery": 1}, "mystery"),
    ],
)
def test_a_bad_dispatch_is_a_problem_naming_the_field_and_writes_nothing(
    floor: dict[str, Any], dispatcher: User, sign_in: Any, body: dict[str, Any], field: str
) -> None:
    response = _post(sign_in(dispatcher), f"/incidents/{floor['a'].pk}/dispatch", body)

    problem = _problem(response, 422)
    assert field in [error["field"] for error in problem["errors"]]
    assert not Assignment.objects.exists()


def test_an_override_without_a_reason_is_refused_and_with_one_is_logged(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)
    path = f"/incidents/{floor['a'].pk}/dispatch"
    body = {"units": ["C-114"], "recommended": [floor["c112"].pk]}

    problem = _problem(_post(client, path, body), 422)
    assert problem["errors"][0]["field"] == "override_reason"
    assert not Assignment.objects.exists()

    done = _post(client, path, {**body, "override_reason": "C-112 reports a flat tyre"})
    assert done.status_code == 201
    assert Event.objects.filter(kind=Kind.UNIT_OVERRIDE).get().data["reason"] == (
        "C-112 reports a flat tyre"
    )


def test_dispatch_permissions_walk(floor: dict[str, Any], persona: Any, sign_in: Any) -> None:
    path = f"/incidents/{floor['a'].pk}/dispatch"
    body = {"units": ["C-112"]}
    _problem(_post(Client(), path, body), 401)
    _problem(_post(sign_in(persona("norole")), path, body), 403)
    _problem(_post(sign_in(persona("calltaker")), path, body), 403)
    # A dispatcher of another PSAP does not see this PSAP's incident.
    _problem(_post(sign_in(persona("dispatcher_w")), path, body), 404)
    assert not Assignment.objects.exists()
    assert AccessAudit.objects.filter(username="calltaker", action="denied").exists()
    assert _post(sign_in(persona("dispatcher")), path, body).status_code == 201


def test_another_psaps_assignment_is_not_found(
    floor: dict[str, Any], dispatcher: User, trooper_f: User, sign_in: Any
) -> None:
    [assignment] = _post(
        sign_in(dispatcher), f"/incidents/{floor['a'].pk}/dispatch", {"units": ["C-112"]}
    ).json()
    _problem(
        _post(
            sign_in(trooper_f), f"/assignments/{assignment['id']}/status", {"status": "en_route"}
        ),
        404,
    )
    assert Assignment.objects.get(pk=assignment["id"]).status == S.DISPATCHED


def test_reserving_for_a_scheduled_incident_through_the_api(
    floor: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    scheduled = make.incident(floor["psap"], scheduled_for=timezone.now() + timedelta(hours=2))
    client = sign_in(dispatcher)
    [reserved] = _post(client, f"/incidents/{scheduled.pk}/reserve", {"units": ["C-112"]}).json()
    assert reserved["status"] == "reserved"
    board = {row["call_sign"]: row for row in client.get("/api/dispatch/units").json()}
    assert board["C-112"]["status"] == "available"
    assert board["C-112"]["reserved"][0]["incident"] == scheduled.pk
    _problem(_post(client, f"/incidents/{floor['a'].pk}/reserve", {"units": ["C-114"]}), 409)
