"""`despp load-reference`: the shipped Connecticut data, the rules that fill its gaps (each fact
marked sourced / inferred / derived with its basis), and idempotency."""

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Q

from despp.core.models import (
    Agency,
    AgencyKind,
    County,
    Event,
    Policing,
    Provenance,
    ReferenceState,
    Town,
    Troop,
)
from despp.core.reference import DEFAULT_DATASET, ReferenceDataError, load_reference, read_dataset
from despp.core.reference.facts import haversine_km

DIVISIONS = {
    "csp": "Connecticut State Police",
    "post": "Police Officer Standards and Training Council",
    "demhs": "Division of Emergency Management and Homeland Security",
    "cfpc": "Commission on Fire Prevention and Control",
    "dss": "Division of Scientific Services",
    "dset": "Division of Statewide Emergency Telecommunications",
}


def _state() -> dict[str, list[tuple[object, ...]]]:
    """Every loaded row, as plain tuples, to compare before and after a reload."""
    return {
        "counties": list(County.objects.order_by("pk").values_list()),
        "agencies": list(Agency.objects.order_by("pk").values_list()),
        "troops": list(Troop.objects.order_by("pk").values_list()),
        "towns": list(Town.objects.order_by("pk").values_list()),
    }


def test_the_shipped_dataset_reads_without_the_shared_data_directory():
    dataset = read_dataset()
    assert DEFAULT_DATASET.parent.name == "reference"
    assert "shared" not in DEFAULT_DATASET.parts
    assert len(dataset.towns) == 169
    assert (DEFAULT_DATASET / "README.md").exists()
    assert (DEFAULT_DATASET / "PROVENANCE.md").exists()


def test_loader_creates_169_towns_in_8_counties_with_boundaries_and_population(reference_data):
    assert Town.objects.count() == 169
    assert County.objects.count() == 8
    hartford = reference_data.town("Hartford")
    assert hartford.county.name == "Hartford"
    assert hartford.fips_2020 == "0900337070"
    assert hartford.boundary["type"] in {"Polygon", "MultiPolygon"}
    assert 41.7 < hartford.centroid_lat < 41.8
    total = sum(Town.objects.values_list("population", flat=True))
    assert total == 3_603_448  # the CT DPH 2020 state total the dataset README states


def test_loader_creates_the_department_divisions_lab_and_academies_with_their_codes(
    reference_data,
):
    department = reference_data.agency("despp")
    assert department.kind == AgencyKind.DEPARTMENT and department.parent is None
    for code, name in DIVISIONS.items():
        division = reference_data.agency(code)
        assert (division.name, division.kind, division.parent_id) == (
            name,
            AgencyKind.DIVISION,
            department.pk,
        )
    expected = {
        "dss-lab": (AgencyKind.LAB, "dss"),
        "post-academy": (AgencyKind.ACADEMY, "post"),
        "fire-academy": (AgencyKind.ACADEMY, "cfpc"),
    }
    for code, (kind, parent) in expected.items():
        agency = reference_data.agency(code)
        assert agency.kind == kind and agency.parent.code == parent


def test_every_troop_a_to_l_without_j_and_w_has_an_agency_under_the_state_police(
    reference_data,
):
    codes = list(Troop.objects.values_list("code", flat=True))
    assert codes == list("ABCDEFGHIKLW")
    for troop in Troop.objects.select_related("agency__parent", "barracks_town"):
        assert troop.agency.code == f"csp-troop-{troop.code.lower()}"
        assert troop.agency.kind == AgencyKind.TROOP
        assert troop.agency.parent.code == "csp"
        assert troop.barracks_town is not None
    assert reference_data.troop("K").barracks_address == "15 Old Hartford Road, Colchester"


def test_every_town_with_its_own_department_has_a_municipal_police_agency(reference_data):
    own = Town.objects.filter(policing__in=[Policing.MUNICIPAL, Policing.SPLIT])
    assert own.count() == 90
    for town in own.select_related("police_agency"):
        assert town.police_agency.kind == AgencyKind.MUNICIPAL_POLICE
        assert town.police_agency.town_id == town.pk
    assert not Agency.objects.filter(code="pd-east-haddam").exists()  # a State Police town


def test_groton_has_three_departments_and_the_town_department_is_primary(reference_data):
    groton = reference_data.town("Groton")
    assert groton.police_agency.code == "pd-groton"
    assert groton.police_agency.name == "Groton Town Police Department"
    departments = set(
        Agency.objects.filter(town=groton, kind=AgencyKind.MUNICIPAL_POLICE).values_list(
            "code", flat=True
        )
    )
    assert departments == {"pd-groton", "pd-groton-city", "pd-groton-long-point"}


def test_every_state_police_town_ends_with_a_troop_and_is_policed_by_it(reference_data):
    state_police = Town.objects.filter(policing=Policing.STATE_POLICE).select_related(
        "troop__agency", "police_agency"
    )
    assert state_police.count() == 79  # 78 sourced + Andover (inferred); splits counted apart
    for town in state_police:
        assert town.troop is not None, town.name
        assert town.troop.code != "W", town.name  # the airport troop is never inferred
        assert town.police_agency == town.troop.agency, town.name
    assert not Town.objects.filter(troop=None).exists()


def test_a_sourced_troop_keeps_its_confidence_evidence_and_sources(reference_data):
    ashford = reference_data.town("Ashford")
    assert ashford.troop.code == "C"
    assert ashford.troop_provenance == Provenance.SOURCED
    assert ashford.troop_confidence == "high"
    assert ashford.troop_sources == "P05"
    assert "Mansfield, Ellington" in ashford.troop_evidence
    assert ashford.troop_basis.startswith("Sourced (P05; confidence high)")


def test_a_state_police_town_without_a_sourced_troop_gets_the_nearest_barracks_as_inferred(
    reference_data,
):
    bethlehem = reference_data.town("Bethlehem")
    assert bethlehem.policing == Policing.STATE_POLICE
    assert bethlehem.troop_provenance == Provenance.INFERRED
    assert bethlehem.police_agency_provenance == Provenance.INFERRED
    assert bethlehem.troop_evidence == ""
    assert "nearest" in bethlehem.troop_basis
    # The barracks named is really the nearest: no other patrol troop's barracks town is closer.

    def distance(troop: Troop) -> float:
        barracks = troop.barracks_town
        return haversine_km(
            bethlehem.centroid_lat,
            bethlehem.centroid_lon,
            barracks.centroid_lat,
            barracks.centroid_lon,
        )

    patrol = Troop.objects.exclude(code="W").select_related("barracks_town")
    assert bethlehem.troop == min(patrol, key=distance)


def test_the_datasets_troop_candidate_is_only_a_hint_recorded_beside_the_answer(reference_data):
    haddam = reference_data.town("Haddam")
    assert haddam.troop_candidate == "F"
    assert "Troop F's described extent" in haddam.troop_candidate_basis
    assert haddam.troop_provenance == Provenance.INFERRED
    assert "candidate, Troop F, agrees" in haddam.troop_basis


def test_norfolk_named_as_troop_b_or_l_gets_the_nearer_of_the_two_as_inferred(reference_data):
    norfolk = reference_data.town("Norfolk")
    assert norfolk.troop.code == "B"
    assert norfolk.troop_provenance == Provenance.INFERRED
    assert norfolk.troop_confidence == "low"
    assert "Troop B or Troop L" in norfolk.troop_basis


def test_split_towns_have_their_own_department_as_primary_and_a_troop_recorded(reference_data):
    putnam, windham = reference_data.town("Putnam"), reference_data.town("Windham")
    assert putnam.policing == windham.policing == Policing.SPLIT
    assert putnam.police_agency.code == "pd-putnam"
    assert windham.police_agency.code == "pd-windham"
    assert windham.police_agency.name == "Willimantic Police Department"
    assert (windham.troop.code, windham.troop_provenance) == ("K", Provenance.SOURCED)
    assert (putnam.troop.code, putnam.troop_provenance) == ("D", Provenance.INFERRED)


def test_andover_listed_without_a_suffix_is_inferred_state_police(reference_data):
    andover = reference_data.town("Andover")
    assert (andover.policing, andover.policing_provenance) == (
        Policing.STATE_POLICE,
        Provenance.INFERRED,
    )
    assert andover.police_agency.code == "csp-troop-k"
    assert andover.police_agency_provenance == Provenance.INFERRED


def test_a_municipal_town_without_a_sourced_psap_defaults_to_its_own_dispatch_as_derived(
    reference_data,
):
    avon = reference_data.town("Avon")
    assert avon.psap.code == "psap-avon-pd"
    assert avon.psap.kind == AgencyKind.PSAP
    assert avon.psap.provenance == Provenance.DERIVED
    assert avon.psap.parent.code == "pd-avon"
    assert avon.psap_provenance == Provenance.DERIVED
    assert "own police department's dispatch" in avon.psap_basis


def test_berlins_psap_is_the_sourced_berlin_pd_communications_unit(reference_data):
    berlin = reference_data.town("Berlin")
    assert berlin.psap.code == "psap-berlin-pd"
    assert berlin.psap_provenance == Provenance.SOURCED
    assert berlin.psap.provenance == Provenance.SOURCED
    assert "P48" in berlin.psap_basis


def test_troop_k_towns_reach_the_eastern_center_through_the_sourced_troop_k_letter(
    reference_data,
):
    bolton = reference_data.town("Bolton")
    assert bolton.psap.code == "psap-csp-eastern"
    assert bolton.psap_provenance == Provenance.SOURCED
    assert "P03" in bolton.psap_basis


def test_a_state_police_town_gets_its_troops_district_center_as_a_derived_psap(reference_data):
    sterling = reference_data.town("Sterling")  # Troop D, sourced by P16, not a dispatch source
    assert sterling.psap.code == "psap-csp-eastern"
    assert sterling.psap_provenance == Provenance.DERIVED
    sharon = reference_data.town("Sharon")  # Troop B: Western district
    assert sharon.psap.code == "psap-csp-western"


def test_troops_no_source_ties_to_a_district_use_the_nearest_consolidated_center(
    reference_data,
):
    for code in "FGHIW":
        troop = reference_data.troop(code)
        assert troop.dispatch_center_provenance == Provenance.DERIVED, code
        assert "no source ties" in troop.dispatch_center_basis
    assert reference_data.troop("G").dispatch_center.code == "psap-csp-western"
    for code in "ABCDEKL":
        assert reference_data.troop(code).dispatch_center_provenance == Provenance.SOURCED


def test_every_town_has_a_psap_and_every_fact_has_a_provenance_and_basis(reference_data):
    assert not Town.objects.filter(psap=None).exists()
    blank = Q()
    for fact in ("policing", "police_agency", "troop", "psap"):
        blank |= Q(**{f"{fact}_basis": ""}) | Q(**{f"{fact}_provenance": Provenance.UNKNOWN})
    assert not Town.objects.filter(blank).exists()


def test_loading_twice_changes_nothing_and_writes_nothing(reference_data):
    before = _state()
    events = Event.objects.count()
    revision = ReferenceState.objects.get().revision

    report = load_reference()

    assert not report.changed
    assert _state() == before
    assert Event.objects.count() == events
    assert ReferenceState.objects.get().revision == revision


def test_a_reload_repairs_a_fact_changed_behind_the_loaders_back(reference_data):
    avon = reference_data.town("Avon")
    Town.objects.filter(pk=avon.pk).update(troop=reference_data.troop("W"), population=1)

    report = load_reference()

    avon.refresh_from_db()
    assert report.updated["towns"] == 1
    assert avon.troop.code != "W" and avon.population > 1
    loaded = Event.objects.filter(stream="reference").order_by("-position").first()
    assert loaded.kind == "reference.loaded" and loaded.data["updated"]["towns"] == 1


def test_the_command_prints_what_it_did_and_how_facts_were_obtained(reference_data):
    out = io.StringIO()
    call_command("load_reference", stdout=out)
    text = out.getvalue()
    assert "towns" in text and "169" in text
    assert "inferred" in text and "derived" in text
    assert "nothing written" in text


@pytest.fixture
def dataset_copy(tmp_path: Path) -> Path:
    target = tmp_path / "ct"
    shutil.copytree(DEFAULT_DATASET, target)
    return target


def test_a_dataset_with_a_town_missing_from_the_boundaries_is_refused_naming_it(dataset_copy, db):
    path = dataset_copy / "town_boundaries.geojson"
    collection = json.loads(path.read_text())
    collection["features"] = [
        f for f in collection["features"] if f["properties"]["town"] != "Avon"
    ]
    path.write_text(json.dumps(collection))
    before = (Town.objects.count(), Agency.objects.count(), Event.objects.count())

    with pytest.raises(ReferenceDataError, match="no polygon for town 'Avon'"):
        load_reference(dataset_copy)
    assert (Town.objects.count(), Agency.objects.count(), Event.objects.count()) == before


def test_the_command_refuses_a_bad_dataset_and_writes_nothing(dataset_copy, db):
    towns = dataset_copy / "towns.csv"
    towns.write_text(towns.read_text().replace(",3149,", ",many,", 1))
    counts = (Town.objects.count(), Agency.objects.count(), Event.objects.count())

    with pytest.raises(CommandError, match=r"towns.csv row 2 column 'population'"):
        call_command("load_reference", dataset=dataset_copy, stdout=io.StringIO())
    assert (Town.objects.count(), Agency.objects.count(), Event.objects.count()) == counts
