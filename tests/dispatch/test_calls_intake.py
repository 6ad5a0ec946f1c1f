"""POST /api/dispatch/calls: a 911 call is validated, located, routed and opens its incident."""

from typing import Any

import pytest
from django.test import Client

from despp.core.models import AccessAudit, Event, User
from despp.dispatch.models import Call, Incident
from tests.dispatch.calls_fixtures import (  # noqa: F401
    HARTFORD,
    LONG_ISLAND_SOUND,
    call_body,
    dispatch_data,
    reference_data,
    reference_snapshot,
)

pytestmark = pytest.mark.usefixtures("dispatch_data")
URL = "/api/dispatch/calls"


def post(client: Client, body: dict[str, Any]) -> Any:
    return client.post(URL, body, content_type="application/json")


def test_a_call_is_routed_to_the_psap_serving_its_location_and_opens_an_incident(
    calltaker: User, sign_in: Any
) -> None:
    response = post(sign_in(calltaker), call_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["jurisdiction"]["town"] == "Tolland"
    assert body["jurisdiction"]["psap"] == "psap-csp-eastern"
    assert body["jurisdiction"]["troop"] == "C"
    assert body["call"]["psap"] == "psap-csp-eastern"
    assert body["call"]["location_text"] == "Tolland green by the church"
    assert body["incident"]["nature"] == "FSTRU"
    assert body["incident"]["priority"] == 1  # the nature's default
    assert body["incident"]["number"].endswith("-000001")
    assert body["duplicates"] == []
    call = Call.objects.get(pk=body["call"]["id"])
    assert call.incident_id == body["incident"]["id"]
    kinds = list(Event.objects.order_by("seq").values_list("stream", "kind"))
    assert (f"call:{call.pk}", "call.received") in kinds
    assert (f"incident:{call.incident_id}", "incident.created") in kinds
    assert AccessAudit.objects.filter(object_type="call", object_id=str(call.pk)).exists()


def test_a_call_in_hartford_goes_to_hartfords_own_psap(calltaker: User, sign_in: Any) -> None:
    body = call_body(lat=HARTFORD[0], lon=HARTFORD[1], nature=None)
    response = post(sign_in(calltaker), body)
    assert response.status_code == 201, response.content
    assert response.json()["call"]["psap"] == "psap-hartford-pd"
    assert response.json()["incident"] is None


def test_a_retry_with_the_same_source_ref_returns_the_first_call_and_writes_nothing(
    calltaker: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    first = post(client, call_body(source_ref="ng911-abc-1"))
    assert first.status_code == 201
    counts = (Call.objects.count(), Incident.objects.count(), Event.objects.count())
    again = post(client, call_body(source_ref="ng911-abc-1"))
    assert again.status_code == 200, again.content
    assert again.json()["call"]["id"] == first.json()["call"]["id"]
    assert again.json()["incident"]["id"] == first.json()["incident"]["id"]
    assert (Call.objects.count(), Incident.objects.count(), Event.objects.count()) == counts


def test_a_point_just_outside_the_state_is_taken_explicitly_as_out_of_state(
    calltaker: User, sign_in: Any
) -> None:
    body = call_body(lat=LONG_ISLAND_SOUND[0], lon=LONG_ISLAND_SOUND[1], nature=None)
    response = post(sign_in(calltaker), body)
    assert response.status_code == 201, response.content
    answer = response.json()["jurisdiction"]
    assert answer["in_state"] is False
    assert answer["nearest_town"] == "Groton"
    assert response.json()["call"]["in_state"] is False
    assert response.json()["call"]["town"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": 40.0, "lon": -75.0}, "lat"),
        ({"lat": None}, "lat"),
        ({"lon": None}, "lon"),
        ({"lat": 95.0}, "lat"),
        ({"lat": None, "lon": None, "uncertainty_m": None}, "lat"),
        ({"uncertainty_m": -1}, "uncertainty_m"),
        ({"nature": "NOPE"}, "nature"),
        ({"class_of_service": "pigeon"}, "class_of_service"),
        ({"callback_number": "call me maybe"}, "callback_number"),
        ({"place_id": 999999}, "place_id"),
        ({"lat": None, "lon": None, "uncertainty_m": None, "town": "Atlantis"}, "town"),
        ({"received_at": "2999-01-01T00:00:00Z"}, "received_at"),
        ({"received_at": "2026-01-01T00:00:00"}, "received_at"),
        ({"psap": "no-such-psap"}, "psap"),
        ({"psap": "csp-troop-c"}, "psap"),
        ({"description": "x" * 401}, "description"),
        ({"location_text": "bad\u0000text"}, "location_text"),
        ({"priority": 9}, "priority"),
        ({"extra_field": 1}, "extra_field"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_nothing_is_written(
    calltaker: User, sign_in: Any, change: dict[str, Any], field: str
) -> None:
    body = call_body()
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    before = (Call.objects.count(), Incident.objects.count(), Event.objects.count())
    response = post(sign_in(calltaker), body)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    fields = [error["field"] for error in response.json()["errors"]]
    assert field in fields, response.json()
    assert (Call.objects.count(), Incident.objects.count(), Event.objects.count()) == before
