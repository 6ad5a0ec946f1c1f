"""GET /api/locate, /api/towns, /api/towns/{name}, /api/troops and /api/psaps: public reference
data with the provenance of every fact; bad input is a 4xx naming the field, nothing written."""

import pytest
from django.test import Client

from despp.core.models import AccessAudit, Event, Town

pytestmark = pytest.mark.usefixtures("reference_data")


def _writes() -> tuple[int, int]:
    return Event.objects.count(), AccessAudit.objects.count()


def test_locate_returns_the_town_and_each_fact_with_its_provenance(client: Client):
    response = client.get("/api/locate", {"lat": 41.7658, "lon": -72.6734})
    assert response.status_code == 200
    body = response.json()
    assert body["in_state"] is True
    assert (body["town"], body["county"]) == ("Hartford", "Hartford")
    assert (body["police_agency"], body["police_agency_provenance"]) == ("pd-hartford", "sourced")
    assert (body["psap"], body["psap_provenance"]) == ("psap-hartford-pd", "derived")
    assert body["troop"] and body["troop_provenance"] == "inferred"
    assert body["nearest_town"] is None and body["distance_km"] is None


def test_locate_in_a_state_police_town_returns_its_troop_as_police_agency(client: Client):
    sterling = Town.objects.get(name="Sterling")
    body = client.get("/api/locate", {"lat": sterling.centroid_lat, "lon": sterling.centroid_lon})
    assert body.json()["police_agency"] == "csp-troop-d"
    assert body.json()["troop_provenance"] == "sourced"


def test_locate_out_of_state_returns_the_nearest_town_and_distance(client: Client):
    body = client.get("/api/locate", {"lat": 40.7128, "lon": -74.0060}).json()
    assert body["in_state"] is False
    assert body["town"] is None and body["psap"] is None
    assert body["nearest_town"] == "Greenwich"
    assert 35 < body["distance_km"] < 50


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lat": "nan", "lon": "-72.6"}, "lat"),
        ({"lat": "41.7", "lon": "inf"}, "lon"),
        ({"lat": "91", "lon": "-72.6"}, "lat"),
        ({"lat": "41.7", "lon": "-180.01"}, "lon"),
        ({"lat": "north", "lon": "-72.6"}, "lat"),
        ({"lon": "-72.6"}, "lat"),
        ({"lat": "41.7"}, "lon"),
    ],
)
def test_locate_with_a_bad_coordinate_is_a_4xx_naming_the_field_and_writes_nothing(
    client: Client, query, field
):
    before = _writes()
    response = client.get("/api/locate", query)
    assert 400 <= response.status_code < 500
    assert field in response.content.decode()
    assert _writes() == before


def test_towns_lists_all_169_with_assignments_and_provenance_in_one_query(
    client: Client, django_assert_num_queries
):
    with django_assert_num_queries(1):
        response = client.get("/api/towns")
    towns = response.json()
    assert len(towns) == 169
    bethlehem = next(t for t in towns if t["name"] == "Bethlehem")
    assert bethlehem["troop_provenance"] == "inferred"
    assert bethlehem["police_agency"].startswith("csp-troop-")
    assert bethlehem["psap_provenance"] == "derived"
    assert "boundary" not in bethlehem


@pytest.mark.parametrize("name", ["East Haddam", "east haddam", "east-haddam"])
def test_a_town_is_found_by_name_or_slug_with_the_basis_of_each_fact(client: Client, name):
    body = client.get(f"/api/towns/{name}").json()
    assert body["name"] == "East Haddam"
    assert body["troop"] == "K" and body["troop_provenance"] == "sourced"
    assert body["troop_sources"] == "P03"
    assert body["psap_provenance"] == "sourced" and "P03" in body["psap_basis"]


def test_an_inferred_troop_shows_how_it_was_inferred(client: Client):
    body = client.get("/api/towns/Putnam").json()
    assert body["policing"] == "split" and body["police_agency"] == "pd-putnam"
    assert body["troop_provenance"] == "inferred"
    assert body["troop_basis"].startswith("Inferred: no source names this town's troop")


def test_an_unknown_town_is_404_naming_it(client: Client):
    response = client.get("/api/towns/Atlantis")
    assert response.status_code == 404
    assert "Atlantis" in response.content.decode()


def test_troops_and_psaps_show_dispatch_centers_and_their_provenance(client: Client):
    troops = {t["code"]: t for t in client.get("/api/troops").json()}
    assert set(troops) == set("ABCDEFGHIKLW")
    assert troops["A"]["dispatch_center"] == "psap-csp-western"
    assert troops["F"]["dispatch_center_provenance"] == "derived"
    assert sum(t["towns"] for t in troops.values()) == 169
    psaps = {p["code"]: p for p in client.get("/api/psaps").json()}
    assert psaps["psap-berlin-pd"]["provenance"] == "sourced"
    assert psaps["psap-berlin-pd"]["towns_served"] == 1
    assert psaps["psap-valley-shore"]["towns_served"] == 0
    assert psaps["psap-avon-pd"]["provenance"] == "derived"


def test_reference_endpoints_need_no_credentials_and_are_not_audited(client: Client):
    before = _writes()
    for url in ("/api/locate?lat=41.7&lon=-72.7", "/api/towns", "/api/towns/Avon",
                "/api/troops", "/api/psaps"):  # fmt: skip
        assert client.get(url).status_code == 200, url
    assert _writes() == before
