"""Demo units on the real map, and the admin pages for units, run cards and thresholds."""

from collections import Counter
from typing import Any

import pytest

from despp.core import jurisdiction
from despp.core.models import AccessAudit, Agency, AgencyKind, Town, User
from despp.dispatch.demo_units import load_units
from despp.dispatch.models import ResponsePlan, Station, StatusThreshold, Unit, UnitKind
from despp.dispatch.plans import RUN_CARDS, THRESHOLDS, load_plans_and_thresholds
from tests.dispatch import unit_helpers as make
from tests.fixtures_reference import reference_data, reference_snapshot  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference_data")]


def test_demo_units_cover_the_eastern_district_and_the_big_towns_and_reload_changes_nothing() -> (
    None
):
    first = load_units()
    counts = Counter(Unit.objects.values_list("kind", flat=True))
    total = sum(counts.values())

    assert 120 <= total <= 200, first
    assert {UnitKind.TROOP_CAR, UnitKind.POLICE_CAR, UnitKind.ENGINE, UnitKind.LADDER,
            UnitKind.RESCUE, UnitKind.TANKER, UnitKind.ALS, UnitKind.BLS, UnitKind.K9,
            UnitKind.MARINE} <= set(counts)  # fmt: skip
    for troop in "CDEK":
        assert Unit.objects.filter(agency__code=f"csp-troop-{troop.lower()}").count() >= 6
    for town in ("Hartford", "New Haven", "Bridgeport"):
        slug = town.lower().replace(" ", "-")
        assert Unit.objects.filter(agency__code=f"fd-{slug}", kind=UnitKind.ENGINE).count() >= 3
        assert Unit.objects.filter(agency__code=f"pd-{slug}").exists()
    fire = Agency.objects.get(code="fd-tolland")
    assert fire.town is not None
    assert (fire.kind, fire.town.name) == (AgencyKind.FIRE_DEPARTMENT, "Tolland")
    assert "Demo data" in fire.notes
    assert Agency.objects.get(code="ems-tolland").kind == AgencyKind.EMS

    unit = Unit.objects.get(call_sign="C-112")
    Unit.objects.filter(pk=unit.pk).update(in_service=False, out_of_service_reason="repairs")
    second = load_units()
    assert second.startswith("units: 0 created")
    assert Unit.objects.count() == total
    assert not Unit.objects.get(call_sign="C-112").in_service  # left as it was


def test_every_demo_station_stands_in_its_own_town() -> None:
    load_units()
    for station in Station.objects.select_related("town"):
        assert jurisdiction.locate(station.lat, station.lon).town == station.town.name, station


def test_troop_cars_patrol_the_towns_their_troop_polices() -> None:
    load_units()
    for unit in Unit.objects.filter(kind=UnitKind.TROOP_CAR, agency__code="csp-troop-c"):
        assert unit.lat is not None and unit.lon is not None
        town = jurisdiction.locate(unit.lat, unit.lon).town
        assert Town.objects.get(name=town).police_agency.code == "csp-troop-c", unit


def test_the_shipped_run_cards_and_thresholds_load_for_every_nature_present() -> None:
    for code in RUN_CARDS:
        if code in make.NATURES:
            make.nature(code)
        else:
            make_nature(code)
    summary = load_plans_and_thresholds()

    assert ResponsePlan.objects.filter(town=None).count() == len(RUN_CARDS), summary
    fire = ResponsePlan.objects.get(nature__code="FSTRU", town=None)
    assert [(line.unit_kinds, line.count, line.capability) for line in fire.lines.all()][:4] == [
        (["engine"], 3, ""),
        (["ladder"], 1, "aerial"),
        (["rescue"], 1, ""),
        (["als"], 1, ""),
    ]
    welfare = StatusThreshold.objects.get(status="on_scene", unit_kind="troop_car")
    assert (welfare.warn_after_s, welfare.alarm_after_s) == (600, 1200)
    assert StatusThreshold.objects.get(status="dispatched", unit_kind="").warn_after_s == 60
    assert StatusThreshold.objects.count() == sum(len(t.unit_kinds) or 1 for t in THRESHOLDS)


def make_nature(code: str) -> Any:
    from despp.dispatch.models import Discipline, NatureCode, Priority

    return NatureCode.objects.get_or_create(
        code=code,
        defaults={"label": code, "discipline": Discipline.POLICE,
                  "default_priority": Priority.PROMPT},
    )[0]  # fmt: skip


def test_an_administrator_edits_run_cards_in_the_admin_but_not_unit_working_state(
    persona: Any, sign_in: Any
) -> None:
    make.nature("DVA")
    load_plans_and_thresholds()
    admin: User = persona("admin")
    admin.is_staff = True
    admin.save()
    client = sign_in(admin)
    plan = ResponsePlan.objects.get(nature__code="DVA", town=None)

    assert client.get(f"/admin/dispatch/responseplan/{plan.pk}/change/").status_code == 200
    assert client.get("/admin/dispatch/statusthreshold/").status_code == 200
    # Units are equipped by `unit.manage`, which the system administrator does not hold.
    assert client.get("/admin/dispatch/unit/").status_code == 403


def test_a_supervisor_with_unit_manage_equips_a_unit_in_the_admin(
    persona: Any, sign_in: Any
) -> None:
    supervisor: User = persona("supervisor")
    supervisor.is_staff = True
    supervisor.save()
    troop = Agency.objects.get(code="csp-troop-c")
    unit = make.unit("C-150", troop)
    client = sign_in(supervisor)

    page = client.get(f"/admin/dispatch/unit/{unit.pk}/change/")
    assert page.status_code == 200
    response = client.post(
        f"/admin/dispatch/unit/{unit.pk}/change/",
        {
            "call_sign": "c-150",
            "kind": "k9",
            "agency": troop.pk,
            "home_station": "",
            "capabilities": ["k9_tracking"],
        },
    )
    assert response.status_code == 302, response.content[:2000]
    unit.refresh_from_db()
    assert (unit.call_sign, unit.kind, unit.capabilities) == ("C-150", "k9", ["k9_tracking"])
    entry = AccessAudit.objects.get(object_type="unit", object_id=str(unit.pk))
    assert entry.detail["via"] == "admin"
