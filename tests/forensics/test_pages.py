"""Permission walks over every laboratory page (anonymous, no role, permitted, another agency or
section), and the access audit of each look at an item, a request or a report: exactly one
entry per page, none for a refusal's 404."""

from collections.abc import Callable

import pytest

from despp.core.models import AccessAudit, AuditAction
from despp.forensics.models import ReportVersion
from tests.forensics.conftest import first_item

PAGES: dict[str, Callable[[ReportVersion], str]] = {
    "submission": lambda v: f"/staff/lab/submissions/{v.report.lab_request.submission_id}/",
    "item": lambda v: f"/staff/lab/items/{first_item(v.report.lab_request.submission).pk}/",
    "request": lambda v: f"/staff/lab/requests/{v.report.lab_request_id}/",
    "report": lambda v: f"/staff/lab/reports/{v.report_id}/",
    "report-version": lambda v: f"/staff/lab/reports/{v.report_id}/v1/",
}
LISTS = ["/staff/lab/", "/staff/lab/submissions/", "/staff/lab/requests/", "/staff/lab/metrics/"]


@pytest.mark.parametrize("page", PAGES)
def test_a_record_page_sends_the_anonymous_visitor_to_sign_in(page, released, client):
    response = client.get(PAGES[page](released))
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")


@pytest.mark.parametrize("page", PAGES)
def test_a_record_page_refuses_a_person_without_a_laboratory_role(page, released, norole, sign_in):
    assert sign_in(norole).get(PAGES[page](released)).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_the_submitting_agency_and_the_lab_see_every_record_page(page, released, trooper, lab,
                                                                  sign_in):  # fmt: skip
    for user in (trooper, lab.intake, lab.analyst, lab.reviewer, lab.manager):
        response = sign_in(user).get(PAGES[page](released))
        assert response.status_code == 200, (user, response.status_code)


@pytest.mark.parametrize("page", PAGES)
def test_another_agency_or_section_gets_404_and_learns_nothing(page, released, trooper_f, lab,
                                                              sign_in):  # fmt: skip
    for user in (trooper_f, lab.dna_analyst):
        response = sign_in(user).get(PAGES[page](released))
        assert response.status_code == 404
        assert released.report.lab_request.submission.case_number.encode() not in response.content


@pytest.mark.parametrize("path", LISTS)
def test_list_pages_need_evidence_view(path, db, client, norole, auditor, sign_in):
    assert client.get(path).status_code == 302
    assert sign_in(norole).get(path).status_code == 403
    assert sign_in(auditor).get(path).status_code == 403


def test_the_submission_form_is_for_agency_users_only(trooper, labintake, analyst, sign_in):
    assert sign_in(trooper).get("/staff/lab/submit/").status_code == 200
    for user in (labintake, analyst):
        assert sign_in(user).get("/staff/lab/submit/").status_code == 403


def test_lists_show_only_what_the_caller_may_see(released, trooper, trooper_f, sign_in):
    lab_number = released.report.lab_request.submission.lab_number
    for path in ("/staff/lab/submissions/", "/staff/lab/requests/", "/staff/lab/"):
        assert lab_number in sign_in(trooper).get(path).content.decode()
        assert lab_number not in sign_in(trooper_f).get(path).content.decode()


def reads(kind: str, pk: object) -> list[AccessAudit]:
    return list(
        AccessAudit.objects.filter(action=AuditAction.READ, object_type=kind, object_id=str(pk))
    )


AUDITED: dict[str, tuple[str, Callable[[ReportVersion], int]]] = {
    "submission": ("submission", lambda v: v.report.lab_request.submission_id),
    "item": ("item", lambda v: first_item(v.report.lab_request.submission).pk),
    "request": ("lab_request", lambda v: v.report.lab_request_id),
    "report": ("report", lambda v: v.report_id),
    "report-version": ("report", lambda v: v.report_id),
}


@pytest.mark.parametrize("page", AUDITED)
def test_each_look_at_a_record_is_audited_once(page, released, trooper, sign_in):
    kind, pk_of = AUDITED[page]
    pk = pk_of(released)
    before = len(reads(kind, pk))
    url = PAGES[page](released)
    assert sign_in(trooper).get(url).status_code == 200
    entries = reads(kind, pk)[before:]
    assert len(entries) == 1
    assert (entries[0].username, entries[0].path) == ("trooper", url)


def test_a_look_refused_with_404_leaves_no_read_entry(released, trooper_f, sign_in):
    item = first_item(released.report.lab_request.submission)
    before = len(reads("item", item.pk))
    assert sign_in(trooper_f).get(f"/staff/lab/items/{item.pk}/").status_code == 404
    assert len(reads("item", item.pk)) == before


def test_the_home_page_shows_each_role_what_needs_it(released, lab, trooper, sign_in):
    agency = sign_in(trooper).get("/staff/lab/").content.decode()
    assert "Your agency's submissions" in agency and "Released reports" in agency
    assert released.report.number in agency
    intake = sign_in(lab.intake).get("/staff/lab/").content.decode()
    assert "Awaiting receipt" in intake and "Transfers waiting" in intake and "In storage" in intake
    analyst = sign_in(lab.analyst).get("/staff/lab/").content.decode()
    assert "Controlled Substances queue" in analyst and "Workload per analyst" in analyst
    assert "Assigned to you" in analyst
    reviewer = sign_in(lab.reviewer).get("/staff/lab/").content.decode()
    assert "Awaiting technical review" in reviewer and "Ready for release" in reviewer


def test_the_barcode_look_up_opens_the_item_or_says_it_is_not_found(received, lab, trooper_f,
                                                                    sign_in):  # fmt: skip
    item = first_item(received)
    found = sign_in(lab.intake).get("/staff/lab/items/find/", {"barcode": item.barcode})
    assert found.status_code == 302 and found["Location"] == f"/staff/lab/items/{item.pk}/"
    hidden = sign_in(trooper_f).get("/staff/lab/items/find/", {"barcode": item.barcode})
    assert hidden.status_code == 404
    assert b"No item you may see" in hidden.content
