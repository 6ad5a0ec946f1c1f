"""Administrators correct a town's troop, PSAP, policing or police agency: the fact becomes
`override`, the change is evented and audited, locate() follows at once, and a reload of the
reference data keeps it. Invalid corrections are refused and write nothing."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory

from despp.core import jurisdiction
from despp.core.eventlog import stream_events, verify_streams
from despp.core.models import (
    AccessAudit,
    AuditAction,
    Event,
    Policing,
    Provenance,
    ReferenceState,
    Town,
)
from despp.core.reference import load_reference, set_town_assignment


def _writes() -> tuple[int, int, int]:
    return Event.objects.count(), AccessAudit.objects.count(), ReferenceState.objects.get().revision


def test_correcting_a_troop_marks_it_override_with_the_reason_as_basis(reference_data, admin):
    town = reference_data.town("Bethlehem")
    assert town.troop_provenance == Provenance.INFERRED

    set_town_assignment(town, troop="A", reason="Troop A patrols Bethlehem (DESPP)", actor=admin)

    town.refresh_from_db()
    assert (town.troop.code, town.troop_provenance) == ("A", Provenance.OVERRIDE)
    assert "admin" in town.troop_basis and "Troop A patrols Bethlehem" in town.troop_basis
    # The police agency follows the corrected troop; the PSAP follows its dispatch center.
    assert town.police_agency.code == "csp-troop-a"
    assert town.police_agency_provenance == Provenance.DERIVED
    assert town.psap.code == "psap-csp-western"
    assert town.psap_provenance == Provenance.DERIVED


def test_a_correction_is_evented_on_the_towns_stream_and_audited(reference_data, admin):
    town = reference_data.town("Bethlehem")
    request = RequestFactory().post("/admin/", REMOTE_ADDR="10.1.2.3")
    request.user = admin

    set_town_assignment(town, troop="A", reason="DESPP troop list", actor=admin, request=request)

    (event,) = stream_events(f"town:{town.fips_2020}")
    assert event.kind == "town.assignment_overridden"
    assert event.actor == admin
    assert event.data["set"] == ["troop"]
    assert event.data["before"]["troop"] == [town.troop.code, "inferred"]
    assert event.data["after"]["troop"] == ["A", "override"]
    assert event.data["reason"] == "DESPP troop list"
    assert verify_streams([f"town:{town.fips_2020}"]).ok
    audit = AccessAudit.objects.get(object_type="town", object_id=str(town.pk))
    assert (audit.action, audit.username, audit.ip) == (AuditAction.UPDATE, "admin", "10.1.2.3")
    assert audit.detail["after"]["troop"] == ["A", "override"]


def test_an_override_survives_a_reload_of_the_reference_data(reference_data, admin):
    town = reference_data.town("Bethlehem")
    set_town_assignment(town, troop="A", psap="psap-nwctps", reason="verified", actor=admin)
    events_before = Event.objects.filter(stream=f"town:{town.fips_2020}").count()

    report = load_reference()

    town.refresh_from_db()
    assert (town.troop.code, town.troop_provenance) == ("A", Provenance.OVERRIDE)
    assert (town.psap.code, town.psap_provenance) == ("psap-nwctps", Provenance.OVERRIDE)
    assert town.police_agency.code == "csp-troop-a"  # re-derived from the kept override
    assert report.overrides_kept == 2
    assert Event.objects.filter(stream=f"town:{town.fips_2020}").count() == events_before


def test_locate_reflects_a_correction_immediately(reference_data, admin):
    town = reference_data.town("Bethlehem")
    assert jurisdiction.locate(town.centroid_lat, town.centroid_lon).troop != "A"

    set_town_assignment(town, troop="A", reason="verified", actor=admin)

    found = jurisdiction.locate(town.centroid_lat, town.centroid_lon)
    assert (found.troop, found.troop_provenance) == ("A", Provenance.OVERRIDE)
    assert found.police_agency == "csp-troop-a"


def test_a_sourced_psap_is_kept_when_the_troop_is_corrected(reference_data, admin):
    bolton = reference_data.town("Bolton")  # PSAP sourced through the Troop K letter
    set_town_assignment(bolton, troop="C", reason="moved to Troop C", actor=admin)
    bolton.refresh_from_db()
    assert (bolton.psap.code, bolton.psap_provenance) == ("psap-csp-eastern", Provenance.SOURCED)


def test_correcting_policing_to_municipal_uses_the_towns_own_department(reference_data, admin):
    ledyard = reference_data.town("Ledyard")  # State Police in 2013, its own PD since
    # No pd-ledyard in the 2013 data: the correction must name the department, or is refused.
    before = _writes()
    with pytest.raises(ValidationError) as caught:
        set_town_assignment(ledyard, policing=Policing.MUNICIPAL, reason="own PD", actor=admin)
    assert "police_agency" in caught.value.message_dict
    assert _writes() == before
    ledyard.refresh_from_db()
    assert ledyard.policing == Policing.STATE_POLICE


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"troop": "J", "reason": "x"}, "troop"),
        ({"troop": "A", "reason": "   "}, "reason"),
        ({"psap": "pd-hartford", "reason": "x"}, "psap"),
        ({"psap": "psap-nowhere", "reason": "x"}, "psap"),
        ({"police_agency": "pd-hartford", "reason": "x"}, "police_agency"),  # SP town
        ({"policing": "federal", "reason": "x"}, "policing"),
        ({"reason": "nothing to set"}, "__all__"),
    ],
)
def test_an_invalid_correction_is_refused_naming_the_field_and_writes_nothing(
    reference_data, admin, changes, field
):
    town = reference_data.town("Bethlehem")
    before, saved = _writes(), Town.objects.filter(pk=town.pk).values().get()

    with pytest.raises(ValidationError) as caught:
        set_town_assignment(town, actor=admin, **changes)

    assert field in caught.value.message_dict
    assert _writes() == before
    assert Town.objects.filter(pk=town.pk).values().get() == saved


def test_only_reference_editors_may_correct_a_town(reference_data, dispatcher, norole):
    town = reference_data.town("Bethlehem")
    before = _writes()
    for user in (dispatcher, norole, None):
        with pytest.raises(PermissionDenied):
            set_town_assignment(town, troop="A", reason="x", actor=user)
    assert _writes() == before
