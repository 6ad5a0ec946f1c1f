"""The submission form (agency) and receiving items (intake), in the browser's terms: POSTed
forms, errors next to their fields, nothing written on an error, and the page afterwards."""

from typing import Any

import pytest

from despp.core.models import Event
from despp.forensics import services
from despp.forensics.models import Item, ItemStatus, LabRequest, Submission
from tests.forensics.conftest import drug_case, first_item

URL = "/staff/lab/submit/"
DRUGS = "cs-drug-identification"


def form_data(items: list[dict[str, Any]], **case: str) -> dict[str, Any]:
    """A POST of the submission form with the given item rows (and one blank extra row)."""
    data: dict[str, Any] = {
        "case_number": "CFS2600999",
        "offense": "Burglary",
        "offense_date": "",
        "officer_name": "Tpr. Test",
        "officer_badge": "1234",
        "officer_email": "tpr.test@example.org",
        "priority": "routine",
        "court_date": "",
        "notify_emails": "",
        "notes": "",
        "items-TOTAL_FORMS": str(len(items) + 1),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "1",
        "items-MAX_NUM_FORMS": "200",
        f"items-{len(items)}-quantity": "1",
    } | case
    for index, item in enumerate(items):
        for key, value in item.items():
            data[f"items-{index}-{key}"] = value
    return data


SHIRT = {"description": "Blue shirt with stains", "item_type": "clothing",
         "packaging": "paper-bag", "seal_number": "S-1", "quantity": "1",
         "examinations": ["dna-body-fluid", "dna-touch"]}  # fmt: skip
POWDER = {"description": "White powder", "item_type": "drug", "packaging": "plastic-bag",
          "seal_number": "S-2", "quantity": "1", "examinations": ["dna-touch",
          "cs-drug-identification"]}  # fmt: skip


def test_the_form_offers_three_item_rows_and_the_officer_filled_in(trooper, sign_in, lab):
    response = sign_in(trooper).get(URL)
    assert response.status_code == 200
    assert len(response.context["items"].forms) == 3
    assert response.context["form"]["officer_name"].value() == "Test Trooper"
    assert b"Sexual assault kit (DNA)" in response.content  # examinations by section


def test_a_submission_creates_items_and_one_request_per_examination(trooper, sign_in, lab):
    client = sign_in(trooper)
    response = client.post(URL, form_data([SHIRT, POWDER]))
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert response["Location"] == f"/staff/lab/submissions/{submission.pk}/"
    assert [i.description for i in submission.items.order_by("id")] == [
        "Blue shirt with stains", "White powder"]  # fmt: skip
    requests = {
        r.examination_type.code: sorted(i.item_number for i in r.items.all())
        for r in LabRequest.objects.filter(submission=submission)
    }
    assert requests == {"dna-body-fluid": ["1"], "dna-touch": ["1", "2"],
                        "cs-drug-identification": ["2"]}  # fmt: skip
    assert submission.officer_badge == "1234"
    page = client.get(response["Location"])
    assert f"Submitted as {submission.lab_number}".encode() in page.content


@pytest.mark.parametrize(
    ("change", "where", "field"),
    [
        ({"case_number": ""}, "form", "case_number"),
        ({"priority": "court"}, "form", "court_date"),
        ({"notify_emails": "a@example.org, not-an-address"}, "form", "notify_emails"),
        ({"officer_email": "nope"}, "form", "officer_email"),
        ({"items-0-examinations": []}, 0, "examinations"),
        ({"items-0-quantity": "0"}, 0, "quantity"),
        ({"items-0-item_type": "spaceship"}, 0, "item_type"),
        ({"items-1-description": ""}, 1, "description"),
        ({"items-0-description": "x" * 301}, 0, "description"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_written(
    change, where, field, trooper, sign_in, lab
):
    events = Event.objects.count()
    response = sign_in(trooper).post(URL, form_data([SHIRT, POWDER]) | change)
    assert response.status_code == 400
    form = response.context["form"] if where == "form" else response.context["items"][where]
    assert field in form.errors
    assert b"There is a problem" in response.content
    assert f'id="{form[field].auto_id}_error"'.encode() in response.content
    assert Submission.objects.count() == 0 and Event.objects.count() == events


def test_blank_item_rows_are_ignored_but_no_item_at_all_is_an_error(trooper, sign_in, lab):
    response = sign_in(trooper).post(URL, form_data([]))
    assert response.status_code == 400
    assert "description" in response.context["items"][0].errors
    assert Submission.objects.count() == 0


def test_add_another_item_keeps_what_was_typed_and_shows_no_errors(trooper, sign_in, lab):
    response = sign_in(trooper).post(URL, form_data([SHIRT], case_number="") | {"add_item": "1"})
    assert response.status_code == 200
    items = response.context["items"]
    assert len(items.forms) == 3
    assert items[0]["description"].value() == "Blue shirt with stains"
    assert b"There is a problem" not in response.content
    assert Submission.objects.count() == 0


def test_lab_staff_cannot_submit_and_nothing_is_written(labintake, sign_in, lab):
    response = sign_in(labintake).post(URL, form_data([SHIRT]))
    assert response.status_code == 403
    assert Submission.objects.count() == 0


# --- receiving ----------------------------------------------------------------------------------


def receipt_data(items: list[Item], **rows: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {"receipt-TOTAL_FORMS": str(len(items)),
                            "receipt-INITIAL_FORMS": str(len(items))}  # fmt: skip
    for index, item in enumerate(items):
        row = {"item_id": str(item.pk), "outcome": "receive", "seal_intact": "yes",
               "discrepancy": ""} | rows.get(str(index), {})  # fmt: skip
        for key, value in row.items():
            data[f"receipt-{index}-{key}"] = value
    return data


def receive_url(submission: Submission) -> str:
    return f"/staff/lab/submissions/{submission.pk}/receive/"


def test_intake_sees_the_receipt_form_and_the_agency_does_not(submitted, lab, trooper, sign_in):
    page = f"/staff/lab/submissions/{submitted.pk}/"
    assert b"Record receipt" in sign_in(lab.intake).get(page).content
    assert b"Record receipt" not in sign_in(trooper).get(page).content


def test_intake_receives_some_items_now_and_records_one_missing(lab, trooper, sign_in):
    specs = [services.ItemSpec(f"Item {n}", "drug", "envelope") for n in range(3)]
    submission = services.submit_evidence(
        trooper, drug_case(items=specs, examinations=[services.ExamSpec(DRUGS, [0, 1, 2])])
    )
    items = list(submission.items.order_by("id"))
    data = receipt_data(items, **{"1": {"outcome": "missing", "discrepancy": "Not in the box"},
                                  "2": {"outcome": "later"}})  # fmt: skip
    client = sign_in(lab.intake)
    response = client.post(receive_url(submission), data)
    assert response.status_code == 302
    statuses = [item.status for item in submission.items.order_by("id")]
    assert statuses == [ItemStatus.IN_LAB, ItemStatus.NOT_RECEIVED, ItemStatus.SUBMITTED]
    page = client.get(response["Location"]).content.decode()
    assert "Received 1 item, now in your custody. 1 recorded as not delivered." in page
    assert "Item 3" in page and "Record receipt" in page  # the one left for later


def test_marking_every_item_not_now_records_nothing(submitted, lab, sign_in):
    events = Event.objects.count()
    items = list(submitted.items.order_by("id"))
    data = receipt_data(items, **{"0": {"outcome": "later"}, "1": {"outcome": "later"}})
    response = sign_in(lab.intake).post(receive_url(submitted), data)
    assert response.status_code == 400
    assert "every item was marked" in response.content.decode()
    assert Event.objects.count() == events


@pytest.mark.parametrize(
    "row",
    [{"outcome": "missing", "discrepancy": ""}, {"seal_intact": "no", "discrepancy": " "}],
)
def test_a_missing_item_or_a_broken_seal_needs_a_discrepancy(row, submitted, lab, sign_in):
    events = Event.objects.count()
    items = list(submitted.items.order_by("id"))
    response = sign_in(lab.intake).post(receive_url(submitted), receipt_data(items, **{"0": row}))
    assert response.status_code == 400
    assert "discrepancy" in response.context["receipts"][0].errors
    assert Event.objects.count() == events


def test_receiving_an_item_twice_is_refused_on_the_page(received, lab, sign_in):
    events = Event.objects.count()
    items = list(received.items.order_by("id"))
    response = sign_in(lab.intake).post(receive_url(received), receipt_data(items))
    assert response.status_code == 409
    assert b"is already in laboratory custody" in response.content
    assert b"Nothing was recorded." in response.content
    assert Event.objects.count() == events


def test_the_agency_cannot_receive_its_own_items(submitted, trooper, sign_in, lab):
    items = list(submitted.items.order_by("id"))
    response = sign_in(trooper).post(receive_url(submitted), receipt_data(items))
    assert response.status_code == 403
    assert first_item(submitted).status == ItemStatus.SUBMITTED
