"""Recommendation: the plan, primary agency first, mutual aid only for what it cannot fill,
capabilities, and an explanation for every pick and for every closer unit not picked.

The incidents are in Tolland (policed by State Police Troop C) on the real reference data;
the units are placed by hand at known distances from the incident.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from despp.core.errors import Conflict
from despp.core.models import Agency, AgencyKind, User
from despp.dispatch import eta
from despp.dispatch.models import (
    Assignment,
    AssignmentStatus,
    ResponsePlan,
    ResponsePlanLine,
    Station,
    Unit,
    UnitKind,
)
from despp.dispatch.plans import load_plans_and_thresholds
from despp.dispatch.recommend import Reason, Recommendation, recommend
from despp.dispatch.services.assignments import dispatch_units
from tests.dispatch import unit_helpers as make
from tests.fixtures_reference import ReferenceData, reference_data, reference_snapshot  # noqa: F401

pytestmark = pytest.mark.django_db
K = UnitKind
HERE = (41.8786, -72.3648)  # Tolland


def north(km: float) -> tuple[float, float]:
    """A point `km` due north of the incident."""
    return HERE[0] + km / 111.195, HERE[1]


@pytest.fixture
def place(reference_data: ReferenceData) -> dict[str, Any]:  # noqa: F811
    tolland = reference_data.town("Tolland")
    for code in ("FSTRU", "MVAINJY", "DVA", "CARDIAC", "BURGLARY"):
        make.nature(code)
    load_plans_and_thresholds()
    fire = make.agency("fd-tolland", town=tolland)
    ems = make.agency("ems-tolland", AgencyKind.EMS, town=tolland)
    return {
        "town": tolland,
        "psap": reference_data.agency("psap-csp-eastern"),
        "troop": reference_data.agency("csp-troop-c"),
        "vernon_pd": reference_data.agency("pd-vernon"),
        "fire": fire,
        "ems": ems,
        "other_fire": make.agency("fd-ellington", town=reference_data.town("Ellington")),
    }


def at(km: float) -> dict[str, Any]:
    lat, lon = north(km)
    return {"lat": lat, "lon": lon}


def _incident(place: dict[str, Any], code: str, **extra: Any) -> Any:
    return make.incident(
        place["psap"],
        code=code,
        lat=HERE[0],
        lon=HERE[1],
        town=place["town"],
        police_agency=place["troop"],
        **extra,
    )


def _picks(found: Recommendation, line: int | None = None) -> list[str]:
    return [p.call_sign for p in found.picks if line is None or p.line == line]


def test_the_primary_agency_is_preferred_and_the_closer_mutual_aid_unit_is_explained(
    place: dict[str, Any],
) -> None:
    make.unit("C-111", place["troop"], **at(6.0))
    make.unit("C-112", place["troop"], **at(9.0))
    make.unit("VPD-21", place["vernon_pd"], kind=K.POLICE_CAR, **at(1.0))

    found = recommend(_incident(place, "DVA"))  # 2 patrol cars, then an ambulance

    assert found.plan.source == "statewide"
    assert _picks(found, 0) == ["C-111", "C-112"]
    first = found.lines[0].picks[0]
    assert first.primary and first.agency == "csp-troop-c"
    assert first.distance_km == pytest.approx(6.0, abs=0.01)
    assert first.eta_min == pytest.approx(6.0 * eta.ROAD_FACTOR / 80 * 60, abs=0.1)
    assert "primary agency" in first.why
    [rejected] = found.lines[0].rejections
    assert (rejected.call_sign, rejected.reason) == ("VPD-21", Reason.NOT_PRIMARY)
    assert "primary agency had units" in rejected.why
    assert found.primary["police"] == ["csp-troop-c"]


def test_mutual_aid_fills_only_what_the_primary_agency_cannot(place: dict[str, Any]) -> None:
    make.unit("C-111", place["troop"], **at(6.0))
    make.unit("VPD-21", place["vernon_pd"], kind=K.POLICE_CAR, **at(3.0))
    make.unit("VPD-22", place["vernon_pd"], kind=K.POLICE_CAR, **at(2.0))

    found = recommend(_incident(place, "DVA"))

    line = found.lines[0]
    assert [(p.call_sign, p.primary) for p in line.picks] == [("C-111", True), ("VPD-22", False)]
    assert line.mutual_aid and line.unfilled == 0
    assert "mutual aid" in line.picks[1].why
    # VPD-21 is closer than the primary pick but the slot went to the nearer VPD-22.
    assert [r.call_sign for r in line.rejections] == ["VPD-21"]


def test_an_unfillable_line_says_so_and_lists_why_the_others_were_not_picked(
    place: dict[str, Any],
) -> None:
    busy = make.unit("C-111", place["troop"], **at(1.0))
    make.unit("C-112", place["troop"], in_service=False, **at(2.0))
    make.unit("C-113", place["troop"], emergency_at=timezone.now(), **at(3.0))
    other = _incident(place, "BURGLARY")
    Assignment.objects.create(
        unit=busy,
        incident=other,
        status=AssignmentStatus.ON_SCENE,
        status_at=timezone.now(),
        assigned_by=make_user(),
    )

    found = recommend(_incident(place, "DVA"))

    line = found.lines[0]
    assert line.picks == [] and line.unfilled == 2
    reasons = {r.call_sign: (r.reason, r.why) for r in line.rejections}
    assert reasons["C-111"] == (Reason.COMMITTED, f"committed to incident {other.display_number}")
    assert reasons["C-112"][0] == Reason.OUT_OF_SERVICE
    assert reasons["C-113"][0] == Reason.EMERGENCY
    assert found.unit_ids == []


def make_user() -> User:
    user, _ = User.objects.get_or_create(username="recommend-test")
    return user


def test_a_line_needing_a_capability_skips_closer_units_without_it(place: dict[str, Any]) -> None:
    make.unit("TOL-E2", place["fire"], kind=K.ENGINE, capabilities=["aed"], **at(0.5))
    make.unit("TOL-E1", place["fire"], kind=K.ENGINE, capabilities=["aed", "extrication"], **at(2))
    make.unit("C-111", place["troop"], **at(1.0))
    make.unit("TOL-M1", place["ems"], kind=K.ALS, capabilities=["als"], **at(0.5))

    found = recommend(_incident(place, "MVAINJY"))  # patrol, ALS, engine/rescue + extrication

    assert _picks(found) == ["C-111", "TOL-M1", "TOL-E1"]
    [rejected] = found.lines[2].rejections
    assert (rejected.call_sign, rejected.reason, rejected.why) == (
        "TOL-E2",
        Reason.CAPABILITY,
        "lacks vehicle extrication",
    )


def test_a_structure_fire_fills_the_first_alarm_with_mutual_aid_where_the_town_falls_short(
    place: dict[str, Any],
) -> None:
    for n, km in enumerate((1.0, 1.5)):
        make.unit(f"TOL-E{n + 1}", place["fire"], kind=K.ENGINE, **at(km))
    make.unit("ELL-E1", place["other_fire"], kind=K.ENGINE, **at(8.0))
    make.unit("ELL-E2", place["other_fire"], kind=K.ENGINE, **at(9.0))
    make.unit("ELL-L1", place["other_fire"], kind=K.LADDER, capabilities=["aerial"], **at(8.0))
    make.unit("TOL-M1", place["ems"], kind=K.ALS, **at(1.0))

    found = recommend(_incident(place, "FSTRU"))

    engines, ladder, rescue, als = found.lines[:4]
    assert _picks(found, 0) == ["TOL-E1", "TOL-E2", "ELL-E1"]
    assert [p.primary for p in engines.picks] == [True, True, False]
    assert ladder.picks[0].call_sign == "ELL-L1" and ladder.mutual_aid
    assert rescue.unfilled == 1 and rescue.picks == []
    assert als.picks[0].call_sign == "TOL-M1"
    assert found.primary["fire"] == ["fd-tolland"]


def test_units_already_on_the_incident_fill_the_plan_first(
    place: dict[str, Any], dispatcher: User
) -> None:
    near = make.unit("C-111", place["troop"], **at(1.0))
    make.unit("C-112", place["troop"], **at(2.0))
    far = make.unit("C-113", place["troop"], **at(9.0))
    incident = _incident(place, "DVA")
    dispatch_units(incident, [far], dispatcher)

    found = recommend(incident)

    line = found.lines[0]
    assert [(p.call_sign, p.already_assigned) for p in line.picks] == [
        ("C-113", True),
        ("C-111", False),
    ]
    assert found.unit_ids == [near.pk]


def test_the_towns_own_plan_wins_over_the_statewide_one(place: dict[str, Any]) -> None:
    plan = ResponsePlan.objects.create(
        nature=make.nature("DVA"), town=place["town"], name="Tolland: domestic"
    )
    ResponsePlanLine.objects.create(plan=plan, unit_kinds=[K.TROOP_CAR], count=3)
    for n in range(4):
        make.unit(f"C-11{n}", place["troop"], **at(1.0 + n))

    found = recommend(_incident(place, "DVA"))

    assert (found.plan.name, found.plan.source) == ("Tolland: domestic", "town")
    assert len(found.lines) == 1 and _picks(found) == ["C-110", "C-111", "C-112"]


def test_without_a_plan_the_closest_unit_of_the_natures_discipline_is_recommended(
    place: dict[str, Any],
) -> None:
    make.nature("ADMIN")  # police, no shipped run card
    make.unit("TOL-E1", place["fire"], kind=K.ENGINE, **at(0.2))
    make.unit("C-111", place["troop"], **at(3.0))
    make.unit("C-112", place["troop"], **at(5.0))

    found = recommend(_incident(place, "ADMIN"))

    assert found.plan.source == "default"
    assert _picks(found) == ["C-111"]


def test_a_stale_avl_fix_gives_way_to_the_home_station(place: dict[str, Any]) -> None:
    lat, lon = north(4.0)
    station = Station.objects.create(
        name="Troop C", agency=place["troop"], town=place["town"], lat=lat, lon=lon
    )
    unit = make.unit("C-111", place["troop"], station=station, **at(0.5))
    Unit.objects.filter(pk=unit.pk).update(
        position_at=timezone.now() - timedelta(seconds=eta.AVL_FRESH_S + 60)
    )

    [pick] = recommend(_incident(place, "BURGLARY")).lines[0].picks

    assert pick.position_source == "station"
    assert pick.distance_km == pytest.approx(4.0, abs=0.01)


def test_an_incident_known_only_by_town_is_placed_at_its_centre_and_one_without_is_refused(
    place: dict[str, Any],
) -> None:
    make.unit("C-111", place["troop"], **at(1.0))
    by_town = _incident(place, "BURGLARY")
    by_town.lat = by_town.lon = None

    found = recommend(by_town)
    assert found.location_approximate
    assert (found.lat, found.lon) == (place["town"].centroid_lat, place["town"].centroid_lon)

    by_town.town = None
    with pytest.raises(Conflict, match="has no location"):
        recommend(by_town)


def test_the_recommendation_api_explains_and_accepting_it_dispatches_exactly_those(
    place: dict[str, Any], dispatcher: User, sign_in: Any
) -> None:
    make.unit("C-111", place["troop"], **at(2.0))
    make.unit("C-112", place["troop"], **at(4.0))
    make.unit("VPD-21", place["vernon_pd"], kind=K.POLICE_CAR, **at(1.0))
    incident = _incident(place, "DVA")
    client = sign_in(dispatcher)

    body = client.get(f"/api/dispatch/incidents/{incident.pk}/recommendation").json()

    assert body["plan"] == "Domestic with violence" and body["plan_source"] == "statewide"
    patrol = body["lines"][0]
    assert [p["call_sign"] for p in patrol["picks"]] == ["C-111", "C-112"]
    assert patrol["rejections"][0]["reason"] == "not_primary"
    assert body["lines"][1]["unfilled"] == 1  # no ambulance anywhere
    assert "road factor" in body["model"]
    response = client.post(
        f"/api/dispatch/incidents/{incident.pk}/dispatch",
        {"units": body["unit_ids"], "recommended": body["unit_ids"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert all(a["recommended"] for a in response.json())


def test_the_recommendation_of_another_psaps_incident_is_not_found(
    place: dict[str, Any], dispatcher_w: User, sign_in: Any
) -> None:
    incident = _incident(place, "DVA")
    response = sign_in(dispatcher_w).get(f"/api/dispatch/incidents/{incident.pk}/recommendation")
    assert response.status_code == 404


def test_loading_the_shipped_plans_twice_keeps_what_an_administrator_edited(
    place: dict[str, Any],
) -> None:
    line = ResponsePlanLine.objects.get(plan__nature__code="DVA", plan__town=None, count=2)
    line.count = 3
    line.save()

    summary = load_plans_and_thresholds()

    assert "0 created" in summary
    line.refresh_from_db()
    assert line.count == 3
    assert Agency.objects.filter(code="fd-tolland").exists()
