"""The laboratory API over HTTP: the whole path from submission to a released report's PDF,
permission walks (anonymous, no role, permitted, another agency, another section), access
audit of every look at an item or report, and bad bodies answered with problem+json."""

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from despp.core.models import AccessAudit, Event
from despp.forensics.models import Item, Submission
from tests.forensics.conftest import first_item

BASE = "/api/forensics"
SUBMISSION = {
    "case_number": "CFS26-0042",
    "offense": "Possession of narcotics",
    "officer_email": "officer@example.org",
    "items": [
        {"description": "Bag of white powder", "item_type": "drug", "packaging": "plastic-bag",
         "seal_number": "S-1"},
        {"description": "Scale", "item_type": "drug", "packaging": "paper-bag"},
    ],
    "examinations": [{"examination": "cs-drug-identification", "items": [1, 2]}],
}  # fmt: skip


def post(client: Client, path: str, body: Any) -> Any:
    return client.post(BASE + path, json.dumps(body), content_type="application/json")


def test_a_submission_travels_from_the_agency_to_a_released_report_pdf(
    lab, trooper, sign_in, django_capture_on_commit_callbacks
):
    officer, intake = sign_in(trooper), sign_in(lab.intake)
    analyst, reviewer, manager = sign_in(lab.analyst), sign_in(lab.reviewer), sign_in(lab.manager)
    created = post(officer, "/submissions", SUBMISSION)
    assert created.status_code == 201, created.content
    submission = created.json()
    assert submission["lab_number"].startswith("L") and len(submission["items"]) == 2
    item_ids = [item["id"] for item in submission["items"]]
    receipts = [{"item": pk, "seal_intact": True} for pk in item_ids]
    received = post(intake, f"/submissions/{submission['id']}/receive", {"receipts": receipts})
    assert received.status_code == 200 and received.json()[0]["holder"]["username"] == "labintake"
    labels = intake.get(f"{BASE}/submissions/{submission['id']}/labels.pdf")
    assert labels["Content-Type"] == "application/pdf" and labels.content.startswith(b"%PDF")
    moved = post(intake, f"/items/{item_ids[0]}/transfer",
                 {"to_user": "analyst", "reason": "analysis", "seal_intact": True})  # fmt: skip
    assert moved.json()["pending_to"]["username"] == "analyst"
    assert (
        post(analyst, f"/items/{item_ids[0]}/acknowledge", {}).json()["holder"]["username"]
        == "analyst"
    )
    request_id = submission["requests"][0]["id"]
    assert (
        post(analyst, f"/requests/{request_id}/assign", {"analyst": "analyst"}).status_code == 200
    )
    assert post(analyst, f"/requests/{request_id}/start", {}).json()["state"] == "in_analysis"
    result = post(analyst, f"/requests/{request_id}/results", {
        "finding": "Cocaine identified", "method": "cs-gcms-id", "instrument": "GCMS-CS-01",
        "item": item_ids[0], "value": "2.5", "units": "g"})  # fmt: skip
    assert result.status_code == 201 and result.json()["method_version"] == "4.2"
    assert post(analyst, f"/requests/{request_id}/complete", {}).json()["allowed_steps"] == [
        "technical_approve", "technical_return"]  # fmt: skip
    refused = post(manager, f"/requests/{request_id}/release", {})
    assert refused.status_code == 409 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["missing_reviews"] == ["technical review", "administrative review"]
    assert post(reviewer, f"/requests/{request_id}/review",
                {"kind": "technical", "outcome": "approved"}).status_code == 201  # fmt: skip
    assert post(manager, f"/requests/{request_id}/review",
                {"kind": "administrative", "outcome": "approved"}).status_code == 201  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        released = post(manager, f"/requests/{request_id}/release", {})
    assert released.status_code == 201 and released.json()["version"] == 1
    report_id = released.json()["report"]
    pdf = officer.get(f"{BASE}/reports/{report_id}/pdf")  # the submitting agency reads it
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    deliveries = intake.get(f"{BASE}/reports/{report_id}/deliveries").json()
    assert {d["recipient"]: d["status"] for d in deliveries} == {
        "csp-troop-c": "delivered", "officer@example.org": "delivered"}  # fmt: skip
    custody = officer.get(f"{BASE}/items/{item_ids[0]}/custody").json()
    assert [e["kind"] for e in custody] == ["item.submitted", "item.received",
        "custody.transfer_requested", "custody.transferred"]  # fmt: skip


@pytest.fixture
def one_submission(received: Submission) -> Submission:
    return received


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("norole", 403), ("trooper_f", 404), ("trooper", 200), ("labintake", 200),
     ("analyst", 200), ("dnaanalyst", 404)],
)  # fmt: skip
def test_who_may_see_a_submission(one_submission, lab, persona, sign_in, who, status):
    if who is None:
        client = Client()
    else:
        user = lab.dna_analyst if who == "dnaanalyst" else persona(who)
        client = sign_in(user)
    response = client.get(f"{BASE}/submissions/{one_submission.pk}")
    assert response.status_code == status
    if status >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert "CFS2600123" not in response.content.decode()


def test_an_agency_user_lists_only_their_own_agencys_submissions(lab, trooper, persona, sign_in):
    from despp.forensics import services
    from tests.forensics.conftest import drug_case

    services.submit_evidence(trooper, drug_case(case_number="TROOP-C-1"))
    services.submit_evidence(persona("trooper_f"), drug_case(case_number="TROOP-F-1"))
    mine = {s["case_number"] for s in sign_in(trooper).get(f"{BASE}/submissions").json()}
    everything = {s["case_number"] for s in sign_in(lab.intake).get(f"{BASE}/submissions").json()}
    assert mine == {"TROOP-C-1"}
    assert everything == {"TROOP-C-1", "TROOP-F-1"}


def test_an_analyst_of_another_section_gets_404_for_the_request_and_its_items(
    in_analysis, lab, sign_in
):
    client = sign_in(lab.dna_analyst)
    assert client.get(f"{BASE}/requests/{in_analysis.pk}").status_code == 404
    item = in_analysis.items.first()
    assert client.get(f"{BASE}/items/{item.pk}").status_code == 404
    assert client.get(f"{BASE}/requests").json() == []
    assert sign_in(lab.analyst).get(f"{BASE}/requests/{in_analysis.pk}").status_code == 200


def test_every_look_at_an_item_or_report_is_in_the_access_audit(released, lab, trooper, sign_in):
    item = Item.objects.filter(submission=released.report.lab_request.submission).first()
    client = sign_in(trooper)
    before = AccessAudit.objects.count()
    client.get(f"{BASE}/items/{item.pk}")
    client.get(f"{BASE}/items/{item.pk}/custody.pdf")
    client.get(f"{BASE}/reports/{released.report_id}")
    client.get(f"{BASE}/reports/{released.report_id}/versions/1/pdf")
    looks = AccessAudit.objects.order_by("id")[before:]
    seen = {(a.object_type, a.object_id, a.action) for a in looks if a.username == "trooper"}
    assert ("item", str(item.pk), "read") in seen
    assert ("report", str(released.report_id), "read") in seen
    assert len([a for a in looks if a.object_type in {"item", "report"}]) >= 4


def test_a_denied_transfer_over_the_api_is_409_and_writes_nothing(received, lab, sign_in):
    item = first_item(received)
    events = Event.objects.count()
    response = post(sign_in(lab.analyst), f"/items/{item.pk}/transfer",
                    {"to_user": "analyst", "witness": "reviewer", "reason": "x",
                     "seal_intact": True})  # fmt: skip
    assert response.status_code == 409
    assert "You do not hold item 1" in response.json()["detail"]
    assert Event.objects.count() == events


def test_malformed_unknown_and_oversize_bodies_are_problems_and_write_nothing(
    lab, trooper, sign_in, settings
):
    client = sign_in(trooper)
    count = Submission.objects.count()
    broken = client.post(f"{BASE}/submissions", "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken["Content-Type"] == "application/problem+json"
    bad_type = post(client, "/submissions", SUBMISSION | {"items": [SUBMISSION["items"][0]
                    | {"item_type": "banana"}]})  # fmt: skip
    assert bad_type.status_code == 422
    assert bad_type.json()["errors"][0]["field"] == "items.0.item_type"
    unknown_exam = post(client, "/submissions", SUBMISSION | {"examinations": [
        {"examination": "astrology", "items": [1]}]})  # fmt: skip
    assert unknown_exam.status_code == 422
    assert unknown_exam.json()["errors"][0]["field"] == "examinations.0.examination"
    bad_item = post(client, "/submissions", SUBMISSION | {"examinations": [
        {"examination": "cs-drug-identification", "items": [9]}]})  # fmt: skip
    assert bad_item.json()["errors"][0]["field"] == "examinations.0.items"
    as_form = client.post(f"{BASE}/submissions", {"case_number": "x"})
    assert as_form.status_code == 415
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    huge = post(client, "/submissions", SUBMISSION | {"notes": "x" * 3_000})
    assert huge.status_code == 413 and huge["Content-Type"] == "application/problem+json"
    assert Submission.objects.count() == count


def test_a_submission_reads_in_the_same_number_of_queries_whatever_its_size(
    lab, trooper, sign_in, django_assert_max_num_queries
):
    from despp.forensics import services
    from tests.forensics.conftest import drug_case

    counts = []
    for size in (2, 12):
        spec = drug_case(items=[services.ItemSpec(f"Bag {n}", "drug", "plastic-bag")
                                for n in range(size)],
                         examinations=[services.ExamSpec("cs-drug-identification",
                                                         list(range(size)))])  # fmt: skip
        submission = services.submit_evidence(trooper, spec)
        receipts = [services.Receipt(i.pk) for i in submission.items.all()]
        services.receive_items(lab.intake, submission, receipts)
        client = sign_in(lab.intake)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"{BASE}/submissions/{submission.pk}").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    with django_assert_max_num_queries(25):
        client.get(f"{BASE}/submissions/{submission.pk}")
