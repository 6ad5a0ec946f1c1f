"""The report pages and API: scoped to the caller's PSAPs, audited, CSV and JSON carry the same
figures as the page, bad parameters are 422 problems naming the field."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from despp.core.models import AccessAudit
from tests.dispatch.reports_data import make_call

NY = ZoneInfo("America/New_York")
API = "/api/dispatch/reports/compliance"
PAGE = "/staff/dispatch/reports/"
QUARTERLY = "/staff/dispatch/reports/ct-quarterly/"
WEEK = {"psap": "psap-csp-eastern", "from": "2026-05-11", "to": "2026-05-17"}


@pytest.fixture
def answered_calls(agencies):
    eastern = agencies["psap-csp-eastern"]
    for index, seconds in enumerate((4, 9, 14, 15, 16, 30)):
        make_call(eastern, datetime(2026, 5, 12, 9, index, tzinfo=NY), answer_s=seconds)
    make_call(eastern, datetime(2026, 5, 12, 9, 30, tzinfo=NY))  # abandoned
    make_call(agencies["psap-csp-western"], datetime(2026, 5, 12, 9, tzinfo=NY), answer_s=2)
    return eastern


def test_the_api_gives_each_target_per_day_and_over_the_period(dispatcher, sign_in, answered_calls):
    response = sign_in(dispatcher).get(API, WEEK)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["profile"]["code"] == "nena-sta-020.1-2020"
    assert [t["key"] for t in body["targets"]] == ["answer-90", "answer-95"]
    ninety = body["targets"][0]
    assert len(ninety["buckets"]) == 7
    assert ninety["overall"] | {"start": None} == {
        "start": None,
        "label": "whole period",
        "population": 7,
        "measured": 6,
        "missing_stamp": 1,
        "inconsistent": 0,
        "within": 4,
        "percent_within": 66.67,
        "fractile_s": 30.0,
        "verdict": "fail",
    }
    assert AccessAudit.objects.filter(
        object_type="compliance_report", object_id="psap-csp-eastern", username="dispatcher"
    ).exists()


def test_the_csv_carries_the_same_figures_one_row_per_target_and_bucket(
    dispatcher, sign_in, answered_calls
):
    response = sign_in(dispatcher).get(f"{API}.csv", WEEK)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert (
        "compliance-psap-csp-eastern-nena-sta-020.1-2020-20260511-20260517.csv"
        in (response["Content-Disposition"])
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 2 * (7 + 1)
    tuesday = next(r for r in rows if r["target"] == "answer-95" and r["bucket"] == "2026-05-12")
    assert (tuesday["measured"], tuesday["within"], tuesday["percent_within"]) == (
        "6",
        "5",
        "83.33",
    )
    assert tuesday["fractile_s"] == "30.0" and tuesday["verdict"] == "fail"
    monday = next(r for r in rows if r["target"] == "answer-95" and r["bucket"] == "2026-05-11")
    assert (monday["measured"], monday["fractile_s"], monday["verdict"]) == ("0", "", "no data")


def test_another_psaps_report_is_not_found_and_nothing_is_shown(
    dispatcher_w, sign_in, answered_calls
):
    client = sign_in(dispatcher_w)
    assert client.get(API, WEEK).status_code == 404
    assert client.get(f"{API}.csv", WEEK).status_code == 404
    page = client.get(PAGE, {**WEEK, "date_from": WEEK["from"], "date_to": WEEK["to"]})
    assert page.context["report"] is None  # the picker offers only the caller's PSAPs
    assert "psap" in page.context["form"].errors
    assert not AccessAudit.objects.filter(object_type="compliance_report").exists()
    own = client.get(API, {**WEEK, "psap": ""})  # defaults to the caller's own PSAP
    assert own.json()["psap"]["code"] == "psap-csp-western"
    assert own.json()["targets"][0]["overall"]["measured"] == 1


def test_callers_without_call_view_are_refused(norole, sign_in, client, analyst):
    assert client.get(API, WEEK).status_code == 401
    assert sign_in(norole).get(API, WEEK).status_code == 403
    assert sign_in(analyst).get(API, WEEK).status_code == 403
    assert sign_in(analyst).get(PAGE).status_code == 403
    assert client.get(PAGE).status_code == 302  # to sign in


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"granularity": "week"}, "granularity"),
        ({"profile": "nfpa-9999"}, "profile"),
        ({"to": "2026-05-01"}, "to"),
        ({"from": "yesterday"}, "from"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(dispatcher, sign_in, params, field):
    response = sign_in(dispatcher).get(API, {**WEEK, **params})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_the_page_shows_a_chart_and_the_same_figures_as_a_table(
    dispatcher, sign_in, answered_calls
):
    response = sign_in(dispatcher).get(
        PAGE, {"psap": "psap-csp-eastern", "date_from": "2026-05-12", "date_to": "2026-05-12"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="chart-answer-90"' in page and "chart.umd.min.js" in page
    assert "66.67 % within 15 s" in page and "<strong>fail</strong>" in page
    assert 'id="report-charts"' in page  # the chart's data, the table's figures
    assert "/staff/dispatch/reports/compliance.csv?" in page


def test_the_page_defaults_to_the_callers_psap_and_the_last_week(dispatcher, sign_in):
    response = sign_in(dispatcher).get(PAGE)
    assert response.status_code == 200
    assert response.context["report"].psap.code == "psap-csp-eastern"
    assert len(response.context["report"].results[0].buckets) == 7


def test_the_quarterly_page_and_csv_list_only_the_callers_psaps(
    dispatcher_w, sign_in, answered_calls
):
    client = sign_in(dispatcher_w)
    page = client.get(QUARTERLY, {"year": 2026, "quarter": 2})
    assert page.status_code == 200
    assert [row.psap.code for row in page.context["report"].rows] == ["psap-csp-western"]
    download = client.get("/staff/dispatch/reports/ct-quarterly.csv", {"year": 2026, "quarter": 2})
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["psap"], r["calls_received"], r["calls_abandoned"]) for r in rows] == [
        ("psap-csp-western", "1", "0")
    ]
    api = client.get("/api/dispatch/reports/ct-quarterly", {"year": 2026, "quarter": 2})
    assert api.json()["rows"][0]["calls_answered"] == 1
    assert (
        AccessAudit.objects.filter(object_type="ct_quarterly_report", object_id="2026Q2").count()
        == 3
    )
    assert (
        client.get("/api/dispatch/reports/ct-quarterly", {"year": 2026, "quarter": 7}).status_code
        == 422
    )
