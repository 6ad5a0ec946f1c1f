"""Query budgets of the laboratory pages: each page's query count stays under its budget and
does not grow with the number of submissions, items and requests on it (no N+1)."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from despp.core.models import User
from despp.forensics import services
from despp.forensics.models import ReportVersion
from tests.forensics.conftest import Lab, drug_case, first_item

# Budgets include the session, the user, MFA and role look-ups every staff page makes, and the
# access-audit writes of the page.
BUDGETS = {
    "home": 32,
    "submissions": 14,
    "requests": 14,
    "submission": 18,
    "item": 23,
    "request": 20,
    "report": 15,
    "metrics": 16,
}


def paths(version: ReportVersion) -> dict[str, str]:
    lab_request = version.report.lab_request
    submission = lab_request.submission
    return {
        "home": "/staff/lab/",
        "submissions": "/staff/lab/submissions/",
        "requests": "/staff/lab/requests/",
        "submission": f"/staff/lab/submissions/{submission.pk}/",
        "item": f"/staff/lab/items/{first_item(submission).pk}/",
        "request": f"/staff/lab/requests/{lab_request.pk}/",
        "report": f"/staff/lab/reports/{version.report_id}/",
        "metrics": "/staff/lab/metrics/",
    }


def queries(client: Any, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    # The idle-session clock saves the session now and then, whatever the page (an UPDATE in
    # a savepoint): not the page's own work, so not counted.
    return sum(
        "django_session" not in q["sql"] and "SAVEPOINT" not in q["sql"]
        for q in captured.captured_queries
    )


def more_work(lab: Lab, trooper: User, count: int) -> None:
    """More submissions, received (items in the intake person's hands, requests queued)."""
    for _ in range(count):
        submission = services.submit_evidence(trooper, drug_case())
        receipts = [services.Receipt(item.pk) for item in submission.items.all()]
        services.receive_items(lab.intake, submission, receipts)


@pytest.mark.parametrize("persona", ["trooper", "intake", "analyst", "reviewer", "manager"])
def test_every_page_stays_in_budget_as_the_work_grows(persona, released, lab, trooper, sign_in):
    user = trooper if persona == "trooper" else getattr(lab, persona)
    pages = paths(released)
    client = sign_in(user)
    for path in pages.values():  # warm up: a session's first requests do one-off work
        queries(client, path)
    before = {name: queries(client, path) for name, path in pages.items()}
    more_work(lab, trooper, 6)
    after = {name: queries(client, path) for name, path in pages.items()}
    for name, count in after.items():
        assert count == before[name], f"{name}: {before[name]} -> {count} queries"
        assert count <= BUDGETS[name], f"{name}: {count} queries, budget {BUDGETS[name]}"
