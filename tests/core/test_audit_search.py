"""The auditor's search over the access audit: API, staff page and CSV export."""

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from despp.core import permissions, tokens
from despp.core.models import AccessAudit, AuditAction, AuditOutcome, Event, User
from despp.core.permissions import Action, Role

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _entry(**fields: Any) -> AccessAudit:
    values: dict[str, Any] = {
        "at": T0,
        "username": "trooper",
        "agency_code": "csp-troop-c",
        "action": AuditAction.READ,
        "object_type": "incident",
        "object_id": "42",
        "outcome": AuditOutcome.SUCCESS,
        "ip": "10.20.30.40",
        "path": "/staff/incidents/42/",
    }
    values.update(fields)
    return AccessAudit.objects.create(**values)


def _api(user: User) -> Client:
    plaintext = tokens.issue_token(user, "audit tests").plaintext
    return Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")


def _searches_by(user: User) -> list[AccessAudit]:
    return list(AccessAudit.objects.filter(action=AuditAction.SEARCH, username=user.username))


def _rows() -> tuple[int, int]:
    return AccessAudit.objects.count(), Event.objects.count()


@pytest.fixture
def auditor_api(auditor: User) -> Client:
    return _api(auditor)


def _found(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


# --- who may search --------------------------------------------------------------------------


def test_anonymous_api_callers_are_told_to_authenticate_and_nothing_is_written() -> None:
    before = _rows()
    response = Client().get("/api/audit/entries")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert _rows() == before


@pytest.mark.parametrize("name", ["norole", "trooper", "admin"])
def test_a_caller_without_audit_read_is_refused_with_403_and_the_refusal_is_audited(
    name: str, persona: Callable[[str], User]
) -> None:
    user = persona(name)
    client = _api(user)
    _entry(username="someone-else")
    before = _rows()

    response = client.get("/api/audit/entries")

    assert response.status_code == 403
    assert response.json()["type"] == "/api/problems/forbidden"
    assert "someone-else" not in response.content.decode()
    denial = AccessAudit.objects.get(action=AuditAction.DENIED, username=name)
    assert (denial.outcome, denial.object_id) == (AuditOutcome.FAILURE, Action.AUDIT_READ)
    assert _rows() == (before[0] + 1, before[1])  # the denial, and nothing else
    assert _searches_by(user) == []


def test_the_staff_page_refuses_non_auditors_and_sends_visitors_to_sign_in(
    norole: User, sign_in: Callable[..., Client]
) -> None:
    assert Client().get("/staff/audit/").status_code == 302
    client = sign_in(norole)
    assert client.get("/staff/audit/").status_code == 403
    assert client.get("/staff/audit/export.csv").status_code == 403
    assert _searches_by(norole) == []


def test_a_system_administrator_cannot_read_the_audit_they_are_audited_by(
    admin: User, sign_in: Callable[..., Client]
) -> None:
    admin.is_superuser = True
    admin.save()
    assert sign_in(admin).get("/staff/audit/").status_code == 403


# --- what a search finds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ({"username": "analyst"}, ["lab"]),
        ({"agency": "csp"}, ["default", "troop-f", "update", "v6"]),  # and the troops under it
        ({"agency": "dss-lab"}, ["lab"]),
        ({"action": "update"}, ["update"]),
        ({"object_type": "evidence_item"}, ["lab"]),
        ({"object_type": "incident", "object_id": "7"}, ["troop-f"]),
        ({"outcome": "failure"}, ["failed-login"]),
        ({"ip": "192.0.2.9"}, ["failed-login"]),
        ({"ip": "2001:db8:0:0:0:0:0:1"}, ["v6"]),
        ({"since": "2026-03-02T13:00:00Z", "until": "2026-03-02T15:00:00Z"}, ["default"]),
        (
            {"since": "2026-03-03T00:00:00-05:00", "until": "2026-04-01T00:00:00Z"},
            ["lab", "update", "failed-login"],
        ),
    ],
)
def test_each_filter_narrows_the_search(
    query: dict[str, str], matches: list[str], auditor_api: Client, agencies: Any
) -> None:
    made = {
        "default": _entry(),
        "troop-f": _entry(agency_code="csp-troop-f", object_id="7", at=T0 - timedelta(days=1)),
        "lab": _entry(
            username="analyst",
            agency_code="dss-lab",
            object_type="evidence_item",
            at=T0 + timedelta(days=2),
        ),
        "update": _entry(action=AuditAction.UPDATE, at=T0 + timedelta(days=1, hours=6)),
        "failed-login": _entry(
            username="",
            agency_code="",
            action=AuditAction.LOGIN_FAILED,
            outcome=AuditOutcome.FAILURE,
            object_type="",
            object_id="",
            ip="192.0.2.9",
            at=T0 + timedelta(days=1, hours=7),
        ),
        "v6": _entry(ip="2001:db8::1", at=T0 - timedelta(days=3)),
    }

    found = _found(auditor_api.get("/api/audit/entries?" + urlencode(query)))

    assert sorted(found) == sorted(made[name].pk for name in matches)


def test_results_come_newest_first_in_stable_pages_while_new_entries_arrive(
    auditor: User, auditor_api: Client
) -> None:
    older = [_entry(object_id=str(n), at=T0 + timedelta(minutes=n)) for n in range(5)]
    query = {"object_type": "incident", "limit": 2}

    first = auditor_api.get("/api/audit/entries?" + urlencode(query)).json()
    _entry(object_id="new", at=T0 + timedelta(hours=1))  # arrives between two page loads
    second = auditor_api.get(
        "/api/audit/entries?" + urlencode({**query, "cursor": first["next_cursor"]})
    ).json()
    third = auditor_api.get(
        "/api/audit/entries?" + urlencode({**query, "cursor": second["next_cursor"]})
    ).json()

    pages = [[item["object_id"] for item in page["items"]] for page in (first, second, third)]
    assert pages == [["4", "3"], ["2", "1"], ["0"]]
    assert third["next_cursor"] is None
    assert (first["matching"], first["matching_capped"]) == (5, False)
    assert len(older) == 5


def test_entries_sharing_one_instant_are_neither_skipped_nor_repeated_across_pages(
    auditor_api: Client,
) -> None:
    same = sorted((_entry(object_id=str(n)).pk for n in range(5)), reverse=True)
    seen: list[int] = []
    cursor = ""
    while True:
        page = auditor_api.get(
            "/api/audit/entries?"
            + urlencode({"object_type": "incident", "limit": 2, "cursor": cursor})
        ).json()
        seen += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert seen == same


def test_every_search_of_the_audit_is_itself_recorded_with_its_filters(
    auditor: User, auditor_api: Client
) -> None:
    _entry()
    auditor_api.get("/api/audit/entries?username=trooper&action=read", REMOTE_ADDR="10.9.8.7")

    (recorded,) = _searches_by(auditor)
    assert recorded.object_type == "access_audit"
    assert recorded.agency_code == "despp"
    assert str(recorded.ip) == "10.9.8.7"
    assert recorded.detail == {"filters": {"username": "trooper", "action": "read"}, "returned": 1}


def test_an_auditor_without_statewide_view_sees_only_their_own_agency(
    monkeypatch: pytest.MonkeyPatch, persona: Callable[[str], User]
) -> None:
    monkeypatch.setitem(permissions.MATRIX, Role.AUDITOR, frozenset({Action.AUDIT_READ}))
    local_auditor = persona("auditor")
    local_auditor.agency = type(local_auditor.agency).objects.get(code="csp")
    local_auditor.save()
    own = [_entry(agency_code="csp"), _entry(agency_code="csp-troop-c")]
    _entry(agency_code="dss-lab")
    _entry(agency_code="")  # a failed log-on by nobody in particular

    found = _found(_api(local_auditor).get("/api/audit/entries?object_type=incident"))
    assert sorted(found) == sorted(entry.pk for entry in own)


def test_searching_costs_the_same_few_queries_however_many_entries_match(
    auditor_api: Client,
) -> None:
    auditor_api.get("/api/audit/entries")  # the token's first use is recorded once, not counted

    def queries_for(entries: int) -> int:
        for n in range(entries):
            _entry(object_id=str(n), at=T0 + timedelta(seconds=n))
        with CaptureQueriesContext(connection) as captured:
            assert auditor_api.get("/api/audit/entries?agency=csp&limit=100").status_code == 200
        return len(captured)

    assert queries_for(3) == queries_for(60) <= 9


def test_a_period_that_ends_before_it_starts_matches_nothing(auditor_api: Client) -> None:
    _entry()
    query = {"since": "2026-03-03T00:00:00Z", "until": "2026-03-02T00:00:00Z"}
    assert _found(auditor_api.get("/api/audit/entries?" + urlencode(query))) == []


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"ip": "10.0.0.300"}, "ip"),
        ({"since": "2026-03-02T12:00:00"}, "since"),  # no offset: ambiguous
        ({"until": "9999-12-31T23:00:00-05:00"}, "until"),
        ({"action": "peek"}, "action"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"username": "a\x00b"}, "username"),
    ],
)
def test_bad_search_input_is_a_422_naming_the_field_and_writes_nothing(
    query: dict[str, str], field: str, auditor_api: Client
) -> None:
    before = _rows()
    response = auditor_api.get("/api/audit/entries?" + urlencode(query))

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert {(error["location"], error["field"]) for error in problem["errors"]} == {
        ("query", field)
    }
    assert _rows() == before


# --- the staff page and the export -----------------------------------------------------------


def test_the_staff_page_lists_matching_entries_and_links_the_older_page(
    auditor: User, sign_in: Callable[..., Client]
) -> None:
    for n in range(55):
        _entry(object_id=str(n), at=T0 + timedelta(minutes=n))
    _entry(
        action=AuditAction.LOGIN_FAILED,
        outcome=AuditOutcome.FAILURE,
        username="mallory",
        object_type="",
    )
    client = sign_in(auditor)

    page = client.get("/staff/audit/", {"object_type": "incident", "date_from": "2026-03-02"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "55 matching entries" in html
    assert "#54" in html and "#5<" in html and "#4<" not in html
    assert "mallory" not in html
    assert "cursor=" in html and "Older entries" in html
    assert page["Cache-Control"].startswith("max-age=0")
    assert len(_searches_by(auditor)) == 1


def test_the_staff_page_reads_dates_as_local_days(
    auditor: User, sign_in: Callable[..., Client]
) -> None:
    # 2026-03-03 00:30 UTC is still March 2nd in Connecticut.
    late = _entry(object_id="late", at=datetime(2026, 3, 3, 0, 30, tzinfo=UTC))
    _entry(object_id="next-day", at=datetime(2026, 3, 3, 12, 0, tzinfo=UTC))

    html = sign_in(auditor).get("/staff/audit/", {"date_to": "2026-03-02"}).content.decode()
    assert "#late" in html
    assert "#next-day" not in html
    assert timezone.localtime(late.at).date().isoformat() == "2026-03-02"


def test_an_invalid_staff_search_says_which_field_and_searches_nothing(
    auditor: User, sign_in: Callable[..., Client]
) -> None:
    response = sign_in(auditor).get(
        "/staff/audit/", {"date_from": "2026-03-05", "date_to": "2026-03-01", "ip": "x"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html
    assert "The end date must not be before the start date." in html
    assert "Enter a valid IPv4 or IPv6 address." in html
    assert _searches_by(auditor) == []


def test_the_export_streams_every_match_as_csv_with_formulas_defused(
    auditor: User, auditor_api: Client, sign_in: Callable[..., Client]
) -> None:
    for n in range(3):
        _entry(object_id=str(n), at=T0 + timedelta(minutes=n))
    _entry(object_id='=HYPERLINK("http://evil")', at=T0 + timedelta(hours=1))

    for client, url in (
        (auditor_api, "/api/audit/entries.csv"),
        (sign_in(auditor), "/staff/audit/export.csv"),
    ):
        response = client.get(url, {"object_type": "incident"})
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="access-audit-')
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert [row["object_id"] for row in rows] == ['\'=HYPERLINK("http://evil")', "2", "1", "0"]
        assert rows[-1]["at_utc"] == "2026-03-02T14:00:00+00:00"
    exports = [e for e in _searches_by(auditor) if e.detail.get("export") == "csv"]
    assert len(exports) == 2
