"""The location type-ahead: coordinates, mile markers, towns and common places, each a
validated candidate with its jurisdiction; the parsers never raise on what people type."""

from typing import Any

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from despp.core.models import User
from despp.dispatch.geo_search import parse_coordinates, parse_mile_marker
from tests.dispatch.calls_fixtures import (  # noqa: F401
    call_body,
    dispatch_data,
    reference_data,
    reference_snapshot,
)

URL = "/api/dispatch/places"


@pytest.fixture
def typeahead(dispatch_data: Any, dispatcher: User, sign_in: Any) -> Client:  # noqa: F811
    return sign_in(dispatcher)


def search(client: Client, q: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    return list(response.json())


def test_typed_coordinates_come_back_located(typeahead: Client) -> None:
    [hit] = search(typeahead, "41.7637, -72.6851")
    assert hit["kind"] == "coordinates"
    assert hit["jurisdiction"]["town"] == "Hartford"
    assert hit["jurisdiction"]["psap"] == "psap-hartford-pd"
    [west] = search(typeahead, "41.7637N 72.6851W")
    assert (west["lat"], west["lon"]) == (41.7637, -72.6851)


def test_coordinates_far_outside_the_state_are_not_offered(typeahead: Client) -> None:
    assert search(typeahead, "40.0, -75.0") == []


def test_a_mile_marker_between_shipped_ones_is_interpolated_and_says_so(
    typeahead: Client,
) -> None:
    hits = search(typeahead, "I-84 mm 62")
    assert hits[0]["kind"] == "mile_marker_interpolated"
    assert "mile 60 and 65" in hits[0]["note"]
    assert hits[0]["jurisdiction"]["in_state"] is True
    assert {hit["label"].split(",")[0] for hit in hits[1:]} == {"I-84 mile 60", "I-84 mile 65"}
    [exact] = search(typeahead, "i84 60")
    assert exact["kind"] == "mile_marker" and exact["place_id"] is not None


def test_towns_and_common_places_are_offered_by_name(typeahead: Client) -> None:
    towns = search(typeahead, "tolla")
    assert towns[0]["kind"] == "town"
    assert towns[0]["jurisdiction"]["town"] == "Tolland"
    places = search(typeahead, "Troop C")
    assert places[0]["kind"] == "station"
    assert places[0]["jurisdiction"]["town"] == "Tolland"


def test_a_picked_place_locates_the_call_and_what_was_typed_is_kept(
    typeahead: Client, calltaker: User, sign_in: Any
) -> None:
    [place] = search(typeahead, "Bradley International")
    body = call_body(lat=None, lon=None, uncertainty_m=None, nature=None)
    body |= {"place_id": place["place_id"], "location_text": "the airport, arrivals level"}
    made = sign_in(calltaker).post("/api/dispatch/calls", body, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["jurisdiction"]["town"] == "Windsor Locks"
    assert made.json()["call"]["location_text"] == "the airport, arrivals level"
    assert made.json()["call"]["place"] == "Bradley International Airport"
    assert made.json()["call"]["lat"] is None  # no device point was invented


def test_the_type_ahead_needs_a_query_and_a_permitted_caller(
    typeahead: Client, client: Client, norole: User, sign_in: Any
) -> None:
    assert typeahead.get(URL).status_code == 422
    assert typeahead.get(URL, {"q": "x" * 101}).status_code == 422
    assert client.get(URL, {"q": "Tolland"}).status_code == 401
    assert sign_in(norole).get(URL, {"q": "Tolland"}).status_code == 403


def test_nature_codes_list_every_apco_type_with_discipline_and_priority(
    typeahead: Client,
) -> None:
    codes = {row["code"]: row for row in typeahead.get("/api/dispatch/nature-codes").json()}
    assert len(codes) == 197
    assert codes["FSTRU"]["discipline"] == "fire" and codes["FSTRU"]["default_priority"] == 1
    assert codes["CARDIAC"]["discipline"] == "ems"
    assert codes["NOISE"]["default_priority"] == 3


# --- parsers --------------------------------------------------------------------------------

_lat = st.floats(min_value=-90, max_value=90, allow_nan=False)
_lon = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(lat=_lat, lon=_lon, sep=st.sampled_from([", ", ",", " ", " ; ", "  "]))
@settings(max_examples=300)
def test_any_coordinate_pair_written_out_reads_back_exactly(
    lat: float, lon: float, sep: str
) -> None:
    readings = parse_coordinates(f"{lat!r}{sep}{lon!r}")
    assert readings, (lat, lon)
    if abs(lat) <= 90 and abs(lon) <= 90:
        assert readings[0] == (lat, lon)
    else:
        assert (lat, lon) in readings or readings[0] == (lat, lon)


@given(
    lat=st.floats(min_value=0, max_value=90, allow_nan=False),
    lon=st.floats(min_value=0, max_value=180, allow_nan=False),
)
def test_hemisphere_letters_decide_the_order_and_the_sign(lat: float, lon: float) -> None:
    assert parse_coordinates(f"{lat!r}N {lon!r}W") == [(lat, -lon)]
    assert parse_coordinates(f"{lon!r}W, {lat!r}S") == [(-lat, -lon)]


@given(st.text(max_size=60))
@settings(max_examples=500)
def test_the_parsers_never_raise_and_only_give_values_in_range(text: str) -> None:
    for lat, lon in parse_coordinates(text):
        assert -90 <= lat <= 90 and -180 <= lon <= 180
    marker = parse_mile_marker(text)
    if marker is not None:
        route, mile = marker
        assert route.startswith(("I-", "Route "))
        assert mile is None or mile >= 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I-84 mm 62", ("I-84", 62.0)),
        ("i84 62.5", ("I-84", 62.5)),
        ("Interstate 95 mile marker 100", ("I-95", 100.0)),
        ("rt 2 mile 15", ("Route 2", 15.0)),
        ("Route 2", ("Route 2", None)),
        ("Main Street", None),
    ],
)
def test_mile_markers_are_read_as_people_write_them(
    text: str, expected: tuple[str, float | None] | None
) -> None:
    assert parse_mile_marker(text) == expected
