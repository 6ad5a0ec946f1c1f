"""The towns admin: provenance columns and filters, read-only reference fields, and corrections
that go through the audited service with a required reason (never a raw save)."""

import pytest

from despp.core.models import AccessAudit, Event, Provenance, Town, User


@pytest.fixture
def staff_admin(admin: User) -> User:
    admin.is_staff = True
    admin.save()
    return admin


def _form(town: Town, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "policing": town.policing,
        "police_agency": town.police_agency_id,
        "troop": town.troop_id,
        "psap": town.psap_id,
        "reason": "",
    }
    data.update(changes)
    return data


def test_the_town_list_shows_each_facts_provenance_and_filters_by_it(
    reference_data, staff_admin, sign_in
):
    client = sign_in(staff_admin)
    response = client.get("/admin/core/town/?troop_provenance__exact=inferred")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Troop provenance" in text and "Psap provenance" in text
    assert "Bethlehem" in text  # inferred troop
    assert ">Ashford<" not in text  # sourced troop, filtered out


def test_reference_fields_are_read_only_and_towns_cannot_be_added_or_deleted(
    reference_data, staff_admin, sign_in
):
    town = reference_data.town("Avon")
    client = sign_in(staff_admin)
    page = client.get(f"/admin/core/town/{town.pk}/change/").content.decode()
    assert 'name="population"' not in page and 'name="troop"' in page
    assert "Inferred: no source names" in page  # the troop's basis is shown
    assert client.get("/admin/core/town/add/").status_code == 403
    assert client.post(f"/admin/core/town/{town.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_correction_without_a_reason_is_refused_and_nothing_is_written(
    reference_data, staff_admin, sign_in
):
    town = reference_data.town("Bethlehem")
    troop_a = reference_data.troop("A")
    counts = (Event.objects.count(), AccessAudit.objects.filter(object_type="town").count())

    response = sign_in(staff_admin).post(
        f"/admin/core/town/{town.pk}/change/", _form(town, troop=troop_a.pk)
    )

    assert response.status_code == 200  # the form again, with the error
    assert "This field is required" in response.content.decode()
    town.refresh_from_db()
    assert town.troop_provenance == Provenance.INFERRED
    assert (
        Event.objects.count(),
        AccessAudit.objects.filter(object_type="town").count(),
    ) == counts


def test_a_correction_in_the_admin_goes_through_the_service(reference_data, staff_admin, sign_in):
    town = reference_data.town("Bethlehem")
    troop_a = reference_data.troop("A")

    response = sign_in(staff_admin).post(
        f"/admin/core/town/{town.pk}/change/",
        _form(town, troop=troop_a.pk, reason="DESPP lists Bethlehem under Troop A"),
    )

    assert response.status_code == 302
    town.refresh_from_db()
    assert (town.troop, town.troop_provenance) == (troop_a, Provenance.OVERRIDE)
    assert "DESPP lists Bethlehem under Troop A" in town.troop_basis
    assert Event.objects.filter(stream=f"town:{town.fips_2020}").count() == 1
    assert AccessAudit.objects.filter(object_type="town", object_id=str(town.pk)).exists()


def test_an_invalid_correction_shows_the_services_error_on_the_field(
    reference_data, staff_admin, sign_in
):
    town = reference_data.town("Bethlehem")  # a State Police town
    hartford_pd = reference_data.agency("pd-hartford")

    response = sign_in(staff_admin).post(
        f"/admin/core/town/{town.pk}/change/",
        _form(town, police_agency=hartford_pd.pk, reason="wrong on purpose"),
    )

    assert response.status_code == 200
    assert "is not an active police agency for a State Police town" in response.content.decode()
    town.refresh_from_db()
    assert town.police_agency_provenance == Provenance.INFERRED


def test_staff_without_reference_edit_can_not_change_a_town(reference_data, auditor, sign_in):
    auditor.is_staff = True
    auditor.save()
    town = reference_data.town("Bethlehem")
    response = sign_in(auditor).post(
        f"/admin/core/town/{town.pk}/change/",
        _form(town, troop=reference_data.troop("A").pk, reason="not mine to change"),
    )
    assert response.status_code == 403
    town.refresh_from_db()
    assert town.troop_provenance == Provenance.INFERRED
