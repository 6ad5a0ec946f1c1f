"""The call-taker's intake screen, as a browser without JavaScript uses it: plain form posts,
the location validated on save (what was typed kept as typed), several matches offered to
pick from, duplicates offered for attaching, and every refusal naming its field with nothing
written."""

from typing import Any

import pytest

from despp.core.models import AccessAudit, AuditAction, Event
from despp.dispatch.models import Call, Incident
from tests.dispatch.calls_fixtures import (  # noqa: F401
    TOLLAND,
    dispatch_data,
    reference_data,
    reference_snapshot,
)

pytestmark = pytest.mark.usefixtures("dispatch_data")

INTAKE = "/staff/dispatch/intake/"
ANSWER = "/staff/dispatch/intake/answer/"


def form(**overrides: Any) -> dict[str, Any]:
    data = {
        "callback_number": "860-555-0142",
        "class_of_service": "wireless",
        "location_text": "Tolland",
        "nature": "MVA",
        "description": "two cars, no injuries reported",
    }
    data.update(overrides)
    return data


def test_anonymous_is_sent_to_sign_in_and_roles_without_call_taking_are_refused(
    client, norole, trooper, sign_in
):
    for path in (INTAKE, ANSWER):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
        assert sign_in(norole).get(path).status_code == 403
        assert sign_in(trooper).get(path).status_code == 403  # troopers do not take 911 calls
    assert sign_in(trooper).post(INTAKE, form()).status_code == 403
    assert not Call.objects.exists()


def test_a_call_taken_on_the_screen_opens_an_incident_and_keeps_what_was_typed(calltaker, sign_in):
    client = sign_in(calltaker)
    page = client.get(INTAKE)
    assert page.status_code == 200 and 'list="nature-codes"' in page.content.decode()
    response = client.post(INTAKE, form(location_text="near the green, Tolland"))
    assert response.status_code == 302 and "?done=" in response["Location"]
    call = Call.objects.get()
    assert call.location_text == "near the green, Tolland"
    assert call.town.name == "Tolland" and call.psap.code == "psap-csp-eastern"
    assert call.incident.nature.code == "MVA"
    assert call.answered_at == call.received_at and call.call_taker == calltaker
    done = client.get(response["Location"]).content.decode()
    assert call.incident.display_number in done


def test_a_picked_point_goes_with_the_typed_text(calltaker, sign_in):
    response = sign_in(calltaker).post(
        INTAKE,
        form(location_text="by the church", lat=TOLLAND[0], lon=TOLLAND[1], uncertainty_m=25),
    )
    assert response.status_code == 302
    call = Call.objects.get()
    assert (call.lat, call.lon, call.uncertainty_m) == (TOLLAND[0], TOLLAND[1], 25)
    assert call.location_text == "by the church"


def test_several_matching_places_come_back_to_pick_from_and_the_pick_is_used(calltaker, sign_in):
    client = sign_in(calltaker)
    response = client.post(INTAKE, form(location_text="new"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Several places match" in text and 'name="pick"' in text
    assert not Call.objects.exists()
    picked = client.post(INTAKE, form(location_text="new", pick="0"))
    assert picked.status_code == 302
    assert Call.objects.get().location_text == "new"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"location_text": "Atlantis"}, "location_text", "No town, place"),
        ({"nature": "NOSUCH"}, "nature", "is not a nature code"),
        ({"callback_number": "call me maybe"}, "callback_number", "telephone number"),
        ({"class_of_service": "pigeon"}, "class_of_service", "Select a valid choice"),
        ({"uncertainty_m": "-5"}, "uncertainty_m", "greater than or equal"),
        ({"lat": "95", "lon": "-72.3"}, "location_text", "lat"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_written(calltaker, sign_in, overrides, field, message):
    before = Event.objects.count()
    response = sign_in(calltaker).post(INTAKE, form(**overrides))
    assert response.status_code == 422
    text = response.content.decode()
    assert "There is a problem" in text and message in text
    assert f'href="#id_{field}"' in text
    assert not Call.objects.exists() and Event.objects.count() == before


def test_a_second_call_nearby_is_offered_the_open_incident_and_can_be_attached(calltaker, sign_in):
    client = sign_in(calltaker)
    near = {"lat": TOLLAND[0], "lon": TOLLAND[1]}
    client.post(INTAKE, form(**near))
    first = Incident.objects.get()
    response = client.post(INTAKE, form(callback_number="860-555-0199", **near))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Is this the same event?" in text and first.display_number in text
    second = Call.objects.get(callback_number="860-555-0199")
    assert second.incident is None  # saved, waiting for the decision
    decided = client.post(INTAKE, {"call": second.pk, "decision": f"attach:{first.pk}"})
    assert decided.status_code == 302
    second.refresh_from_db()
    assert second.incident == first and Incident.objects.count() == 1


def test_a_duplicate_can_be_declined_for_a_new_incident(calltaker, sign_in):
    client = sign_in(calltaker)
    near = {"lat": TOLLAND[0], "lon": TOLLAND[1]}
    client.post(INTAKE, form(**near))
    client.post(INTAKE, form(callback_number="860-555-0198", **near))
    second = Call.objects.get(callback_number="860-555-0198")
    client.post(INTAKE, {"call": second.pk, "decision": "new", "nature": "MVA"})
    second.refresh_from_db()
    assert second.incident is not None and Incident.objects.count() == 2


def test_the_duplicate_picked_on_the_screen_is_joined_at_once(calltaker, sign_in):
    client = sign_in(calltaker)
    near = {"lat": TOLLAND[0], "lon": TOLLAND[1]}
    client.post(INTAKE, form(**near))
    first = Incident.objects.get()
    response = client.post(INTAKE, form(callback_number="860-555-0197", link=first.pk, **near))
    assert response.status_code == 302
    assert Call.objects.get(callback_number="860-555-0197").incident == first


def test_the_answer_shows_jurisdiction_cautions_and_duplicates_as_soon_as_a_place_is_known(
    calltaker, sign_in
):
    from despp.dispatch.models import Caution, CautionKind

    Caution.objects.create(
        kind=CautionKind.PREMISE,
        text="Dogs on the property",
        lat=TOLLAND[0],
        lon=TOLLAND[1],
        radius_m=100,
        agency=calltaker.agency,
        created_by=calltaker,
    )
    client = sign_in(calltaker)
    client.post(INTAKE, form(lat=TOLLAND[0], lon=TOLLAND[1]))
    response = client.get(
        ANSWER, {"location_text": "x", "lat": TOLLAND[0], "lon": TOLLAND[1], "nature": "MVA"}
    )
    text = response.content.decode()
    assert "Tolland" in text and "CSP Eastern District" in text
    assert "Dogs on the property" in text
    assert f"Attach to {Incident.objects.get().display_number}" in text
    assert AccessAudit.objects.filter(
        action=AuditAction.SEARCH, object_type="dispatch_location"
    ).exists()
    several = client.get(ANSWER, {"location_text": "new"}).content.decode()
    assert "data-pick-index" in several


def test_a_tampered_hidden_pick_is_reported_on_the_location_field(calltaker, sign_in):
    response = sign_in(calltaker).post(INTAKE, form(lat="north", lon="-72.3"))
    assert response.status_code == 422
    text = response.content.decode()
    assert 'href="#id_location_text"' in text and "Pick the location again" in text
    assert not Call.objects.exists()
