"""Custody on the item page: transfers to a person (acknowledged) and into storage (witnessed),
withdrawal, splitting into sub-items, disposition, and each service refusal shown on the page
with nothing written."""

from typing import Any

import pytest

from despp.core.models import Event, User
from despp.forensics.models import Item, ItemStatus, Submission
from tests.forensics.conftest import Lab, first_item


def url(item: Item, action: str = "") -> str:
    return f"/staff/lab/items/{item.pk}/" + (f"{action}/" if action else "")


def transfer(**fields: Any) -> dict[str, Any]:
    data = {"destination": "person", "to_user": "", "to_location": "", "witness": "",
            "reason": "For analysis", "seal_intact": "yes", "note": ""} | fields  # fmt: skip
    return {f"transfer-{key}": value for key, value in data.items()}


def hand_over(lab: Lab, sign_in: Any, item: Item, to: User) -> None:
    response = sign_in(lab.intake).post(url(item, "transfer"), transfer(to_user=to.pk))
    assert response.status_code == 302, response.content[:2000]


def test_a_transfer_to_a_person_waits_for_their_acknowledgement(received, lab, sign_in):
    item = first_item(received)
    intake = sign_in(lab.intake)
    response = intake.post(url(item, "transfer"), transfer(to_user=lab.analyst.pk))
    assert response.status_code == 302
    page = intake.get(url(item)).content.decode()
    assert "Transfer started: it waits for Test Analyst to acknowledge receipt." in page
    item.refresh_from_db()
    assert (item.holder_id, item.pending_to_id) == (lab.intake.pk, lab.analyst.pk)
    analyst = sign_in(lab.analyst)
    assert "Waiting for your acknowledgement (1)" in analyst.get("/staff/lab/").content.decode()
    assert b"Acknowledge: I have the item" in analyst.get(url(item)).content
    response = analyst.post(url(item, "acknowledge"), {"ack-seal_intact": "yes", "ack-note": ""})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.holder_id, item.pending_to_id) == (lab.analyst.pk, None)
    page = analyst.get(url(item)).content.decode()
    assert "Acknowledged: the transfer is complete." in page
    assert "Chain verified: 4 events" in page
    last = Event.objects.filter(stream=item.stream).order_by("-position").first()
    assert f">{last.hash[:12]}…</code>" in page and last.hash not in page.replace(
        f'title="{last.hash}"', ""
    )


def test_a_transfer_by_someone_who_does_not_hold_the_item_is_refused_on_the_page(
    received, lab, sign_in
):
    item = first_item(received)
    events = Event.objects.count()
    response = sign_in(lab.analyst).post(
        url(item, "transfer"), transfer(to_user=lab.dna_analyst.pk)
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "You do not hold item 1" in body and "Nothing was recorded." in body
    assert Event.objects.count() == events
    item.refresh_from_db()
    assert item.pending_to_id is None


def test_only_people_who_may_hold_evidence_are_offered_as_receivers(received, lab, sign_in):
    form = sign_in(lab.intake).get(url(first_item(received))).context["forms"]["transfer"]
    takers = set(form.fields["to_user"].queryset)
    assert lab.analyst in takers and lab.reviewer not in takers  # reviewers only witness
    assert lab.reviewer in set(form.fields["witness"].queryset)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"destination": "person"}, "to_user"),
        ({"destination": "storage", "to_location": "LOC"}, "witness"),
        ({"destination": "storage", "witness": "ANALYST"}, "to_location"),
        ({"destination": "", "to_user": "ANALYST"}, "destination"),
        ({"reason": "", "to_user": "ANALYST"}, "reason"),
        ({"seal_intact": "", "to_user": "ANALYST"}, "seal_intact"),
        ({"destination": "storage", "to_location": "LOC", "witness": "INTAKE"}, "witness"),
    ],
)
def test_an_incomplete_transfer_is_shown_next_to_its_field(fields, field, received, lab, sign_in):
    values = {"LOC": lab.locations["vault-cage-1-a"].pk, "ANALYST": lab.analyst.pk,
              "INTAKE": lab.intake.pk}  # fmt: skip
    fields = {key: values.get(value, value) for key, value in fields.items()}
    events = Event.objects.count()
    response = sign_in(lab.intake).post(url(first_item(received), "transfer"), transfer(**fields))
    assert response.status_code == 400
    assert field in response.context["forms"]["transfer"].errors
    assert Event.objects.count() == events


def test_a_move_into_storage_needs_its_witness_to_confirm(received, lab, sign_in):
    item = first_item(received)
    shelf = lab.locations["vault-cage-1-a"]
    data = transfer(destination="storage", to_location=shelf.pk, witness=lab.analyst.pk)
    assert sign_in(lab.intake).post(url(item, "transfer"), data).status_code == 302
    witness = sign_in(lab.analyst)
    page = witness.get(url(item)).content.decode()
    assert "Witness this move" in page and "Confirm as witness" in page
    assert witness.post(url(item, "acknowledge"), {"ack-seal_intact": "yes"}).status_code == 302
    item.refresh_from_db()
    assert (item.holder_id, item.location_id) == (None, shelf.pk)
    home = sign_in(lab.intake).get("/staff/lab/").content.decode()
    assert "In storage (1 item)" in home and shelf.path in home


def test_only_the_awaited_person_can_acknowledge(received, lab, sign_in):
    item = first_item(received)
    hand_over(lab, sign_in, item, lab.analyst)
    events = Event.objects.count()
    response = sign_in(lab.reviewer).post(url(item, "acknowledge"), {"ack-seal_intact": "yes"})
    assert response.status_code in (404, 409)  # the reviewer may not even see the item
    assert Event.objects.count() == events
    other = sign_in(lab.intake).post(url(item, "acknowledge"), {"ack-seal_intact": "yes"})
    assert other.status_code == 409
    assert "waits for Test Analyst to acknowledge it, not you" in other.content.decode()
    assert Event.objects.count() == events


def test_the_sender_calls_a_transfer_off_and_the_receiver_may_decline(received, lab, sign_in):
    item = first_item(received)
    hand_over(lab, sign_in, item, lab.analyst)
    missing = sign_in(lab.intake).post(url(item, "withdraw"), {"withdraw-reason": ""})
    assert missing.status_code == 400
    called_off = sign_in(lab.intake).post(url(item, "withdraw"), {"withdraw-reason": "Wrong item"})
    assert called_off.status_code == 302
    hand_over(lab, sign_in, item, lab.analyst)
    declined = sign_in(lab.analyst).post(url(item, "withdraw"), {"withdraw-reason": "Not mine"})
    assert declined.status_code == 302
    item.refresh_from_db()
    assert (item.holder_id, item.pending_to_id) == (lab.intake.pk, None)
    page = sign_in(lab.intake).get(url(item)).content.decode()
    assert "Transfer withdrawn" in page and "Transfer declined: Not mine" in page


def split_data(reason: str, *parts: str) -> dict[str, Any]:
    data: dict[str, Any] = {"split-reason": reason, "parts-TOTAL_FORMS": str(len(parts) + 1),
                            "parts-INITIAL_FORMS": "0"}  # fmt: skip
    for index, description in enumerate([*parts, ""]):
        data |= {f"parts-{index}-description": description,
                 f"parts-{index}-item_type": "biological", f"parts-{index}-packaging": "envelope",
                 f"parts-{index}-seal_number": "", f"parts-{index}-quantity": "1"}  # fmt: skip
    return data


def test_the_holder_splits_an_item_and_the_histories_link(received, lab, sign_in):
    item = first_item(received)
    intake = sign_in(lab.intake)
    response = intake.post(url(item, "split"), split_data("Sampling", "Scraping A", "Scraping B"))
    assert response.status_code == 302
    children = list(item.sub_items.order_by("id"))
    assert [c.item_number for c in children] == ["1.1", "1.2"]
    parent_page = intake.get(url(item)).content.decode()
    assert "Split: sub-item(s) 1.1, 1.2 are in your custody." in parent_page
    assert "Split into sub-items" in parent_page and children[0].barcode in parent_page
    child_page = intake.get(url(children[0])).content.decode()
    assert "Created from a parent item" in child_page
    assert f'href="/staff/lab/items/{item.pk}/"' in child_page


def test_a_split_needs_a_reason_and_a_described_part(received, lab, sign_in):
    item = first_item(received)
    events = Event.objects.count()
    no_reason = sign_in(lab.intake).post(url(item, "split"), split_data("", "Swab"))
    assert no_reason.status_code == 400 and "reason" in no_reason.context["forms"]["split"].errors
    no_part = sign_in(lab.intake).post(url(item, "split"), split_data("Sampling"))
    assert no_part.status_code == 400
    assert "description" in no_part.context["forms"]["parts"][0].errors
    assert Event.objects.count() == events


def dispose_data(**fields: Any) -> dict[str, Any]:
    data = {"kind": "returned", "reason": "Case closed", "recipient_name": "Tpr. Jones",
            "recipient_agency": "", "recipient_id_number": "", "witness": "",
            "retain_until": ""} | fields  # fmt: skip
    return {f"dispose-{key}": value for key, value in data.items()}


def test_an_item_still_under_examination_is_not_returned(received, lab, sign_in):
    item = first_item(received)
    events = Event.objects.count()
    data = dispose_data(recipient_agency=received.agency_id)
    response = sign_in(lab.intake).post(url(item, "dispose"), data)
    assert response.status_code == 409
    assert "still needed by 1 open examination request" in response.content.decode()
    assert Event.objects.count() == events


def test_a_return_names_its_recipient_and_agency(released, lab, sign_in):
    submission: Submission = released.report.lab_request.submission
    item = first_item(submission)  # still in the intake person's hands
    events = Event.objects.count()
    missing = sign_in(lab.intake).post(url(item, "dispose"), dispose_data(recipient_name=""))
    assert missing.status_code == 400
    errors = missing.context["forms"]["dispose"].errors
    assert "recipient_name" in errors and "recipient_agency" in errors
    assert Event.objects.count() == events
    data = dispose_data(recipient_agency=submission.agency_id, recipient_id_number="B-77")
    assert sign_in(lab.intake).post(url(item, "dispose"), data).status_code == 302
    item.refresh_from_db()
    assert item.status == ItemStatus.RETURNED
    page = sign_in(lab.intake).get(url(item)).content.decode()
    assert "Returned: Tpr. Jones" in page and "Start the transfer" not in page


def test_the_agency_sees_the_custody_but_no_custody_forms(received, trooper, sign_in):
    page = sign_in(trooper).get(url(first_item(received))).content.decode()
    assert "Received by the laboratory" in page
    for form in ("Start the transfer", "Split into sub-items", "Record the disposition"):
        assert form not in page
    assert "/api/forensics/items/" in page and "custody.pdf" in page
