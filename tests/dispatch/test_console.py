"""The dispatcher console: who may open it and each of its parts, what each panel costs in
queries, and every command carried out through the services with their refusals shown."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from despp.core.models import AccessAudit, Agency, AuditAction, Event, User
from despp.dispatch.models import Assignment, AssignmentStatus, Incident, IncidentStatus, Unit
from despp.dispatch.services import assignments, incidents
from despp.dispatch.services import units as unit_services
from tests.dispatch import unit_helpers as make
from tests.dispatch.calls_fixtures import (  # noqa: F401
    TOLLAND,
    dispatch_data,
    reference_data,
    reference_snapshot,
)

pytestmark = pytest.mark.usefixtures("dispatch_data")

CONSOLE = "/staff/dispatch/"
COMMAND = "/staff/dispatch/command/"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def floor(dispatcher: User) -> dict[str, Any]:
    troop = Agency.objects.get(code="csp-troop-c")
    one = incidents.create_incident(
        nature="MVA", user=dispatcher, lat=TOLLAND[0], lon=TOLLAND[1], location_text="Rt 195"
    )
    two = incidents.create_incident(
        nature="SUSP", user=dispatcher, town="Willington", location_text="I-84 rest area"
    )
    return {
        "one": one,
        "two": two,
        "c112": make.unit("C-112", troop),
        "c114": make.unit("C-114", troop, lat=41.80, lon=-72.25),
    }


def run(client: Any, line: str, **extra: Any) -> Any:
    return client.post(COMMAND, {"line": line, **extra}, **HX)


def assignment(unit: Unit, incident: Incident) -> Assignment:
    return Assignment.objects.get(unit=unit, incident=incident)


# --- who may open what ------------------------------------------------------------------------

PAGES = [
    CONSOLE,
    "/staff/dispatch/panel/incidents/",
    "/staff/dispatch/panel/units/",
    "/staff/dispatch/panel/calls/",
    "/staff/dispatch/panel/alerts/",
    "/staff/dispatch/map/towns.geojson",
    "/staff/dispatch/panels/?p=map&p=units&p=incidents",
]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_sign_in_and_no_role_is_refused(client, norole, sign_in, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")
    assert sign_in(norole).get(path).status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_the_floor_roles_open_every_part(dispatcher, calltaker, trooper, sign_in, path):
    for user in (dispatcher, calltaker, trooper):
        assert sign_in(user).get(path).status_code == 200, user.username


def test_opening_the_console_and_selecting_an_incident_are_audited(dispatcher, sign_in, floor):
    client = sign_in(dispatcher)
    client.get(CONSOLE)
    assert AccessAudit.objects.filter(
        action=AuditAction.READ, object_type="dispatch_console", username="dispatcher"
    ).exists()
    client.get(f"/staff/dispatch/panel/incident/?id={floor['one'].pk}")
    client.get(f"/staff/dispatch/panel/incident/?id={floor['one'].pk}", HTTP_X_DESPP_PASSIVE="1")
    reads = AccessAudit.objects.filter(object_type="incident", object_id=str(floor["one"].pk))
    assert reads.filter(action=AuditAction.READ).count() == 1  # the feed's refresh is not


def test_the_console_shows_its_psaps_incidents_and_not_another_psaps(
    dispatcher, dispatcher_w, sign_in, floor
):
    number = floor["one"].display_number
    assert number in sign_in(dispatcher).get(CONSOLE).content.decode()
    west = sign_in(dispatcher_w)
    assert number not in west.get(CONSOLE).content.decode()
    detail = west.get(f"/staff/dispatch/panel/incident/?id={floor['one'].pk}").content.decode()
    assert "not on your floor" in detail and "Rt 195" not in detail


def test_another_psaps_dispatcher_cannot_act_on_the_incident_and_nothing_is_written(
    dispatcher_w, sign_in, floor
):
    before = Event.objects.count()
    response = run(sign_in(dispatcher_w), f"D {floor['one'].display_number} C-112")
    assert response.status_code == 404
    assert "No incident" in response.content.decode()
    assert not Assignment.objects.exists() and Event.objects.count() == before


def test_a_role_that_may_not_dispatch_is_told_so_and_nothing_is_written(
    calltaker, trooper, sign_in, floor
):
    before = Event.objects.count()
    for user in (calltaker, trooper):
        response = run(sign_in(user), f"D {floor['one'].display_number} C-112")
        assert response.status_code == 403
        assert "do not allow" in response.content.decode()
    assert not Assignment.objects.exists() and Event.objects.count() == before


def test_several_panels_come_in_one_response_as_out_of_band_swaps(dispatcher, sign_in, floor):
    text = sign_in(dispatcher).get("/staff/dispatch/panels/?p=units&p=incidents&p=nope").content
    text = text.decode()
    assert text.count('hx-swap-oob="innerHTML"') == 2
    assert 'id="panel-units"' in text and 'id="panel-incidents"' in text
    assert sign_in(dispatcher).get("/staff/dispatch/panels/?p=nope").status_code == 404


def test_commands_need_a_post_and_a_session(client, dispatcher, sign_in):
    assert client.post(COMMAND, {"line": "?"}).status_code == 302
    assert sign_in(dispatcher).get(COMMAND).status_code == 405


# --- query budgets ----------------------------------------------------------------------------


def count_queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, HTTP_X_DESPP_PASSIVE="1")
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("panel", "budget"),
    [("incidents", 10), ("units", 12), ("calls", 10), ("alerts", 8)],
)
def test_each_panel_costs_the_same_few_queries_however_many_rows(
    dispatcher, sign_in, floor, panel, budget
):
    client = sign_in(dispatcher)
    path = f"/staff/dispatch/panel/{panel}/"
    client.get(path)  # warm the session and the caches
    small = count_queries(client, path)
    troop = Agency.objects.get(code="csp-troop-c")
    for n in range(8):
        incident = incidents.create_incident(
            nature="MVA", user=dispatcher, town="Tolland", location_text=f"mile {n}"
        )
        unit = make.unit(f"C-2{n:02d}", troop)
        assignments.dispatch_units(incident, [unit], dispatcher)
        unit_services.raise_emergency(unit, dispatcher)
    assert count_queries(client, path) == small <= budget


def test_the_selected_incident_and_the_map_stay_within_their_budgets(dispatcher, sign_in, floor):
    client = sign_in(dispatcher)
    assignments.dispatch_units(floor["one"], [floor["c112"], floor["c114"]], dispatcher)
    client.get(CONSOLE)
    assert count_queries(client, f"/staff/dispatch/panel/incident/?id={floor['one'].pk}") <= 16
    # Every panel and the map in one refresh: the unit board is read once for both.
    everything = "/staff/dispatch/panels/?p=alerts&p=calls&p=incidents&p=units&p=map"
    assert count_queries(client, everything) <= 30


# --- the map ----------------------------------------------------------------------------------


def test_the_town_layer_has_all_169_towns_is_small_and_revalidates(dispatcher, sign_in):
    client = sign_in(dispatcher)
    response = client.get("/staff/dispatch/map/towns.geojson")
    body = response.content
    assert response["Content-Type"] == "application/geo+json"
    assert len(body) < 400_000
    import json

    layer = json.loads(body)
    assert len(layer["features"]) == 169
    assert {f["geometry"]["type"] for f in layer["features"]} <= {"Polygon", "MultiPolygon"}
    again = client.get("/staff/dispatch/map/towns.geojson", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_the_map_markers_are_the_open_incidents_and_the_users_units(dispatcher, sign_in, floor):
    import html
    import json
    import re

    assignments.dispatch_units(floor["one"], [floor["c112"]], dispatcher)
    page = sign_in(dispatcher).get("/staff/dispatch/panels/?p=map").content.decode()
    markers = json.loads(html.unescape(re.search(r'data-markers="([^"]*)"', page).group(1)))
    units = {m["label"]: m["status"] for m in markers if m["kind"] == "unit"}
    assert units == {"C-112": "committed", "C-114": "available"}
    incident_ids = {m["id"] for m in markers if m["kind"] == "incident"}
    assert floor["one"].pk in incident_ids  # a point; Willington alone (a town) has none


# --- commands through the services ------------------------------------------------------------


def test_dispatch_then_status_then_clear_by_command(dispatcher, sign_in, floor):
    client = sign_in(dispatcher)
    number = floor["one"].display_number
    response = run(client, f"d {number} c-112")
    assert response.status_code == 200, response.content
    assert "Dispatched C-112" in response.content.decode()
    assert "despp:refresh" in response["HX-Trigger"]
    assert run(client, "S C-112 ER").status_code == 200
    assert run(client, "S C-112 OS").status_code == 200
    assert assignment(floor["c112"], floor["one"]).status == AssignmentStatus.ON_SCENE
    assert run(client, "C C-112").status_code == 200
    assert assignment(floor["c112"], floor["one"]).status == AssignmentStatus.CLEARED
    assert run(client, f"K {number} RPT").status_code == 200
    floor["one"].refresh_from_db()
    assert floor["one"].status == IncidentStatus.CLOSED and floor["one"].disposition.code == "RPT"


def test_an_invalid_transition_is_a_409_in_the_services_own_words(dispatcher, sign_in, floor):
    client = sign_in(dispatcher)
    run(client, f"D {floor['one'].display_number} C-112")
    before = Event.objects.count()
    response = run(client, "S C-112 AH")
    assert response.status_code == 409
    text = response.content.decode()
    assert "cannot go to at hospital" in text and "Not done" in text
    assert Event.objects.count() == before


def test_a_status_change_on_a_unit_with_a_reservation_and_a_call_goes_to_the_call(
    dispatcher, sign_in, floor
):
    from datetime import timedelta

    from django.utils import timezone

    later = incidents.create_incident(
        nature="ADMIN",
        user=dispatcher,
        town="Tolland",
        source="scheduled",
        scheduled_for=timezone.now() + timedelta(hours=2),
    )
    assignments.reserve_unit(later, floor["c112"], dispatcher)
    assignments.dispatch_units(floor["one"], [floor["c112"]], dispatcher)
    response = run(sign_in(dispatcher), "S C-112 ER")
    assert response.status_code == 200
    assert assignment(floor["c112"], floor["one"]).status == AssignmentStatus.EN_ROUTE
    assert assignment(floor["c112"], later).status == AssignmentStatus.RESERVED


def test_clearing_a_unit_with_two_reservations_asks_which_incident(dispatcher, sign_in):
    from datetime import timedelta

    from django.utils import timezone

    unit = make.unit("C-120", Agency.objects.get(code="csp-troop-c"))
    scheduled = [
        incidents.create_incident(
            nature="ADMIN",
            user=dispatcher,
            town="Tolland",
            source="scheduled",
            scheduled_for=timezone.now() + timedelta(hours=hours),
        )
        for hours in (2, 3)
    ]
    for incident in scheduled:
        assignments.reserve_unit(incident, unit, dispatcher)
    before = Event.objects.count()
    response = run(sign_in(dispatcher), "C C-120")
    assert response.status_code == 409
    text = response.content.decode()
    assert "which one" in text
    for incident in scheduled:
        assert f"C C-120 {incident.display_number}" in text
    assert Event.objects.count() == before
    chosen = run(sign_in(dispatcher), f"C C-120 {scheduled[1].display_number}")
    assert chosen.status_code == 200
    assert assignment(unit, scheduled[1]).status == AssignmentStatus.CLEARED
    assert assignment(unit, scheduled[0]).status == AssignmentStatus.RESERVED


def test_a_new_incident_by_command_validates_its_location_and_keeps_it_as_typed(
    dispatcher, sign_in
):
    client = sign_in(dispatcher)
    response = run(client, "N SUSP 12 Main St, Tolland")
    assert response.status_code == 200, response.content
    incident = Incident.objects.get(nature__code="SUSP", location_text="12 Main St, Tolland")
    assert incident.town.name == "Tolland"
    nowhere = run(client, "N SUSP Atlantis")
    assert nowhere.status_code == 422 and "No town, place" in nowhere.content.decode()
    bad_code = run(client, "N NOSUCH Tolland")
    assert bad_code.status_code == 422 and "not a nature code" in bad_code.content.decode()


def test_an_ambiguous_location_offers_its_candidates_as_buttons(dispatcher, sign_in):
    response = run(sign_in(dispatcher), "N SUSP new")
    assert response.status_code == 409
    text = response.content.decode()
    assert "pick one" in text and 'name="pick"' in text
    assert not Incident.objects.filter(nature__code="SUSP", location_text="new").exists()


def test_recommend_then_accept_dispatches_exactly_the_recommendation(dispatcher, sign_in, floor):
    client = sign_in(dispatcher)
    number = floor["one"].display_number
    response = run(client, f"R {number}")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Accept: dispatch" in text and "C-112" in text
    accept = run(client, f"D {number} C-112")
    assert accept.status_code == 200
    event = Event.objects.filter(kind="unit.assigned").latest("seq")
    assert event.data.get("decision", "accepted") == "accepted"


def test_overriding_the_recommendation_needs_a_reason_after_a_slash(dispatcher, sign_in, floor):
    client = sign_in(dispatcher)
    number = floor["one"].display_number
    run(client, f"R {number}")  # recommends C-112, the closest
    refused = run(client, f"D {number} C-114")
    assert refused.status_code == 422
    assert "/ &lt;reason&gt;" in refused.content.decode()
    assert not Assignment.objects.exists()
    done = run(client, f"D {number} C-114 / C-112 is needed on the highway")
    assert done.status_code == 200
    assert Event.objects.filter(kind="unit.override").exists()


def test_an_emergency_shows_on_every_console_and_a_dispatcher_acknowledges_it(
    dispatcher, dispatcher_w, calltaker, sign_in, floor
):
    unit_services.raise_emergency(floor["c112"], dispatcher)
    for user in (dispatcher, dispatcher_w, calltaker):
        alerts = sign_in(user).get("/staff/dispatch/panel/alerts/").content.decode()
        assert "EMERGENCY — C-112" in alerts, user.username
    calltaker_view = sign_in(calltaker).get("/staff/dispatch/panel/alerts/").content.decode()
    assert "data-dismiss-alarm" in calltaker_view  # may not acknowledge: dismisses locally
    assert run(sign_in(dispatcher), "A C-112").status_code == 200
    floor["c112"].refresh_from_db()
    assert floor["c112"].emergency_at is None
    assert run(sign_in(dispatcher), "A C-112").status_code == 409


def test_help_and_bad_lines_answer_in_place(dispatcher, sign_in):
    client = sign_in(dispatcher)
    help_text = run(client, "?").content.decode()
    assert "D &lt;incident&gt; &lt;unit&gt;" in help_text
    bad = run(client, "FLY ME")
    assert bad.status_code == 400 and "is not a command" in bad.content.decode()


def test_without_javascript_a_command_renders_the_whole_console_with_its_result(
    dispatcher, sign_in, floor
):
    response = sign_in(dispatcher).post(
        COMMAND, {"prefix": f"D {floor['one'].display_number}", "args": "C-112"}
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "<h1" in text and "Dispatched C-112" in text
    assert assignment(floor["c112"], floor["one"]).status == AssignmentStatus.DISPATCHED
