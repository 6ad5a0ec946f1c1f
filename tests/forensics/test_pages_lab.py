"""Lab work on the request page and the report page: take and assign, results, hand-in, both
reviews, release, amendment with readable old versions, delivery failures per recipient, and
the refusals (review by the analyst, release without both reviews) shown with nothing
written."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group

from despp.core.models import Event, User
from despp.core.permissions import Role
from despp.forensics import services
from despp.forensics.models import LabRequest, LabRequestState, Report, SectionCode
from tests.forensics.conftest import (
    Lab,
    lab_user,
    only_request,
    record_and_complete,
    reviewed,
)

S = LabRequestState


def url(lab_request: LabRequest, action: str = "") -> str:
    return f"/staff/lab/requests/{lab_request.pk}/" + (f"{action}/" if action else "")


def result_data(lab: Lab, **fields: Any) -> dict[str, Any]:
    data = {"finding": "Cocaine identified", "value": "1.02", "units": "g",
            "method": lab.method.pk, "instrument": lab.instrument.pk, "item": "", "notes": "",
            "supersedes": ""} | fields  # fmt: skip
    return {f"result-{key}": value for key, value in data.items()}


def review_data(kind: str, outcome: str = "approved", comments: str = "") -> dict[str, str]:
    return {"kind": kind, "review-outcome": outcome, "review-comments": comments}


def test_an_analyst_takes_works_and_hands_in_a_request(received, lab, sign_in):
    lab_request = only_request(received)
    analyst = sign_in(lab.analyst)
    assert b"Take this request" in analyst.get(url(lab_request)).content
    assert analyst.post(url(lab_request, "take")).status_code == 302
    assert "Assigned to you (1)" in analyst.get("/staff/lab/").content.decode()
    assert analyst.post(url(lab_request, "start")).status_code == 302
    response = analyst.post(url(lab_request, "result"), result_data(lab))
    assert response.status_code == 302
    assert analyst.post(url(lab_request, "complete")).status_code == 302
    lab_request.refresh_from_db()
    assert lab_request.state == S.RESULTS_RECORDED
    page = analyst.get(url(lab_request)).content.decode()
    assert "Handed in for technical review." in page
    assert "Identification by GC-MS (v4.2)" in page and "GCMS-CS-01" in page


def test_a_request_cannot_be_taken_before_its_items_are_received(submitted, lab, sign_in):
    lab_request = only_request(submitted)
    events = Event.objects.count()
    response = sign_in(lab.analyst).post(url(lab_request, "take"))
    assert response.status_code == 409
    assert "have not been received yet" in response.content.decode()
    assert Event.objects.count() == events


def test_a_result_needs_a_finding_and_a_validated_method(in_analysis, lab, sign_in):
    events = Event.objects.count()
    response = sign_in(lab.analyst).post(
        url(in_analysis, "result"), result_data(lab, finding="", method="")
    )
    assert response.status_code == 400
    errors = response.context["forms"]["result"].errors
    assert "finding" in errors and "method" in errors
    assert Event.objects.count() == events


def dual_role_analyst(lab: Lab) -> User:
    """An analyst who is also a reviewer (labs have them): the services must stop them
    reviewing their own work."""
    user = lab_user("dualrole", Role.ANALYST, SectionCode.CONTROLLED_SUBSTANCES)
    user.groups.add(Group.objects.get(name=Role.REVIEWER.value))
    return user


def test_a_review_by_the_analyst_who_did_the_work_is_refused_on_the_page(received, lab,
                                                                         sign_in):  # fmt: skip
    dual = dual_role_analyst(lab)
    lab_request = only_request(received)
    services.assign_request(dual, lab_request, dual)
    services.start_analysis(dual, lab_request)
    services.record_result(dual, lab_request, finding="Cocaine", method=lab.method)
    services.complete_analysis(dual, lab_request)
    events = Event.objects.count()
    response = sign_in(dual).post(url(lab_request, "review"), review_data("technical"))
    assert response.status_code == 409
    body = response.content.decode()
    assert "Review refused: you did the analysis of this request" in body
    assert "Nothing was recorded." in body
    assert Event.objects.count() == events
    lab_request.refresh_from_db()
    assert lab_request.state == S.RESULTS_RECORDED


def test_a_release_without_both_reviews_is_refused_on_the_page(in_analysis, lab, sign_in):
    record_and_complete(lab, in_analysis)
    events = Event.objects.count()
    client = sign_in(lab.manager)
    page = client.get(url(in_analysis)).content.decode()
    assert "Release waits for the technical review" in page and "Release the report" not in page
    response = client.post(url(in_analysis, "release"))
    assert response.status_code == 409
    assert "still missing: technical review and administrative review" in response.content.decode()
    assert Event.objects.count() == events
    assert not Report.objects.exists()


def test_two_reviewers_approve_and_the_release_makes_version_1(
    in_analysis, lab, sign_in, django_capture_on_commit_callbacks: Callable[..., Any]
):
    record_and_complete(lab, in_analysis)
    assert sign_in(lab.reviewer).post(url(in_analysis, "review"),
                                      review_data("technical")).status_code == 302  # fmt: skip
    same = sign_in(lab.reviewer).post(url(in_analysis, "review"), review_data("administrative"))
    assert same.status_code == 409
    assert "you did the technical review" in same.content.decode()
    manager = sign_in(lab.manager)
    assert manager.post(url(in_analysis, "review"),
                        review_data("administrative")).status_code == 302  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert manager.post(url(in_analysis, "release")).status_code == 302
    report = Report.objects.get()
    page = manager.get(url(in_analysis)).content.decode()
    assert "Report released to the submitting agency" in page and report.number in page
    report_page = manager.get(f"/staff/lab/reports/{report.pk}/").content.decode()
    assert "Test Reviewer" in report_page and "Test Labmanager" in report_page
    assert "Delivered" in report_page
    assert f"/api/forensics/reports/{report.pk}/versions/1/pdf" in report_page


def test_a_returned_review_needs_its_reason(in_analysis, lab, sign_in):
    record_and_complete(lab, in_analysis)
    events = Event.objects.count()
    response = sign_in(lab.reviewer).post(url(in_analysis, "review"),
                                          review_data("technical", "returned"))  # fmt: skip
    assert response.status_code == 400
    assert "comments" in response.context["forms"]["review"].errors
    assert Event.objects.count() == events
    returned = sign_in(lab.reviewer).post(
        url(in_analysis, "review"), review_data("technical", "returned", "Weights missing")
    )
    assert returned.status_code == 302
    in_analysis.refresh_from_db()
    assert in_analysis.state == S.RETURNED


def test_an_amendment_makes_version_2_and_version_1_stays_readable(
    released, lab, sign_in, trooper, django_capture_on_commit_callbacks: Callable[..., Any]
):
    report = released.report
    manager = sign_in(lab.manager)
    no_reason = manager.post(f"/staff/lab/reports/{report.pk}/amend/", {"amend-reason": ""})
    assert no_reason.status_code == 400
    response = manager.post(f"/staff/lab/reports/{report.pk}/amend/",
                            {"amend-reason": "Weight transcribed wrongly"})  # fmt: skip
    assert response.status_code == 302
    lab_request = report.lab_request
    old = lab_request.results.get()
    services.record_result(lab.analyst, lab_request, finding="Cocaine identified",
                           method=lab.method, value="1.20", units="g", supersedes=old)  # fmt: skip
    services.complete_analysis(lab.analyst, lab_request)
    reviewed(lab, lab_request)
    with django_capture_on_commit_callbacks(execute=True):
        services.release_request(lab.manager, lab_request)
    agency = sign_in(trooper)
    current = agency.get(f"/staff/lab/reports/{report.pk}/").content.decode()
    assert "Amended report." in current and "Weight transcribed wrongly" in current
    assert "1.20 g" in current and "1.02 g" not in current  # the corrected result replaces it
    first = agency.get(f"/staff/lab/reports/{report.pk}/v1/")
    assert first.status_code == 200
    body = first.content.decode()
    assert "Superseded." in body and "1.02 g" in body


@pytest.fixture
def unreachable_mail(settings: Any) -> None:
    """A mail server that refuses every connection (nothing listens on port 1)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1


def test_a_failed_delivery_names_its_recipient_and_reason(unreachable_mail, released, lab,
                                                          trooper, sign_in):  # fmt: skip
    version = released
    manager = sign_in(lab.manager)
    page = manager.get(f"/staff/lab/reports/{version.report_id}/").content.decode()
    assert "Failed" in page and "officer@example.org" in page and "Connection refused" in page
    assert "Retry the failed e-mails" in page
    home = manager.get("/staff/lab/").content.decode()
    assert "Deliveries that failed" in home
    retry = manager.post(f"/staff/lab/reports/{version.report_id}/deliver/")
    assert retry.status_code == 302
    assert "still failing" in manager.get(retry["Location"]).content.decode()
    agency_page = sign_in(trooper).get(f"/staff/lab/reports/{version.report_id}/").content
    assert (
        b"Retry the failed e-mails" not in agency_page and b"no e-mail address" not in agency_page
    )


def test_a_manager_assigns_and_cancels_with_a_reason(received, lab, sign_in):
    lab_request = only_request(received)
    manager = sign_in(lab.manager)
    form = manager.get(url(lab_request)).context["forms"]["assign"]
    assert "Test Analyst (0 open)" in [label for _, label in form.fields["analyst"].choices]
    assert manager.post(url(lab_request, "assign"),
                        {"assign-analyst": lab.analyst.pk}).status_code == 302  # fmt: skip
    lab_request.refresh_from_db()
    assert lab_request.analyst_id == lab.analyst.pk
    assert manager.post(url(lab_request, "cancel"), {"cancel-reason": ""}).status_code == 400
    assert manager.post(url(lab_request, "cancel"),
                        {"cancel-reason": "Withdrawn by agency"}).status_code == 302  # fmt: skip
    lab_request.refresh_from_db()
    assert lab_request.state == S.CANCELLED


def test_lab_work_forms_are_not_offered_to_the_agency(in_analysis, trooper, sign_in):
    page = sign_in(trooper).get(url(in_analysis)).content.decode()
    for form in ("Take this request", "Record the result", "Record the review"):
        assert form not in page
    assert url(in_analysis, "assign") not in page
    response = sign_in(trooper).post(url(in_analysis, "complete"))
    assert response.status_code == 403
