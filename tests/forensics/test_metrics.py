"""Laboratory metrics on hand-made requests: turnaround from receipt to first release, and the
NIJ backlog (open more than 30 days) counted at the end of the period, with its boundaries;
the page's scope, its period filter and its CSV export."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from despp.core.models import Agency, User
from despp.forensics.models import (
    ExaminationType,
    LabRequest,
    LabRequestState,
    Submission,
)
from despp.forensics.selectors_metrics import Period, lab_metrics

MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
# The end of MARCH (local midnight), in UTC so that day arithmetic is absolute across DST.
AS_OF = datetime(2025, 4, 1, 4, tzinfo=UTC)  # midnight EDT
DAY = timedelta(days=1)


class Requests:
    """Makes requests with chosen dates of receipt and release (test data, written directly:
    the services would stamp them with the present)."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.count = 0

    def make(
        self,
        exam: str,
        *,
        received: datetime | None,
        released: datetime | None = None,
        state: str = "",
        agency: Agency | None = None,
    ) -> LabRequest:
        self.count += 1
        submitted = (received or AS_OF) - DAY
        submission = Submission.objects.create(
            lab_number=f"L25-9{self.count:04d}",
            case_number=f"CASE-{self.count}",
            offense="Test offense",
            agency=agency or self.user.agency,
            submitted_by=self.user,
            officer_name="Officer",
            submitted_at=submitted,
            received_at=received,
            status="received" if received else "submitted",
        )
        exam_type = ExaminationType.objects.get(code=exam)
        default = LabRequestState.RELEASED if released else LabRequestState.IN_ANALYSIS
        return LabRequest.objects.create(
            submission=submission,
            examination_type=exam_type,
            section=exam_type.section,
            requested_at=submitted,
            state=state or default,
            released_at=released,
        )


@pytest.fixture
def requests(trooper: User) -> Requests:
    return Requests(trooper)


@pytest.fixture
def march(requests: Requests, trooper_f: User) -> dict[str, LabRequest]:
    drug, tox, dna = "cs-drug-identification", "tox-blood-alcohol", "dna-touch"
    start = datetime(2025, 3, 2, 15, tzinfo=UTC)
    made = {
        # Released in March: 10 days, exactly 30 days (within the limit), 36 days.
        "ten": requests.make(drug, received=start, released=start + 10 * DAY),
        "thirty": requests.make(drug, received=start - 5 * DAY, released=start + 25 * DAY),
        "late": requests.make(tox, received=start - 20 * DAY, released=start + 16 * DAY),
        # Released before March: not in March's turnaround, and not open.
        "february": requests.make(tox, received=start - 40 * DAY, released=start - 5 * DAY),
        # Open at the end of March: received exactly 30 days before (not backlogged) and one
        # second earlier (backlogged).
        "edge": requests.make(dna, received=AS_OF - 30 * DAY),
        "over": requests.make(dna, received=AS_OF - 30 * DAY - timedelta(seconds=1)),
        # Released after March: open at the end of March, received 45 days before it.
        "april": requests.make(drug, received=AS_OF - 45 * DAY, released=AS_OF + 3 * DAY),
        # Counted nowhere: cancelled, or never received.
        "cancelled": requests.make(
            drug, received=start - 90 * DAY, state=LabRequestState.CANCELLED
        ),
        "unreceived": requests.make(dna, received=None),
        # Another agency's (troop F): only lab staff see it in the figures.
        "troop_f": requests.make(
            tox, received=start, released=start + 2 * DAY, agency=trooper_f.agency
        ),
    }
    return made


def by_key(rows: list[Any]) -> dict[str, Any]:
    return {row.key: row for row in rows}


def test_turnaround_counts_the_requests_released_in_the_period_from_receipt(march, analyst):
    metrics = lab_metrics(analyst, MARCH, now=AS_OF + 100 * DAY)
    sections = by_key(metrics.by_section)
    drugs = sections["controlled-substances"]
    assert (drugs.released, drugs.mean_days, drugs.within_limit) == (2, 20.0, 2)
    assert drugs.within_share == 100.0
    tox = sections["toxicology"]
    assert (tox.released, tox.mean_days, tox.within_limit) == (2, 19.0, 1)  # 36 and 2 days
    assert metrics.total.released == 4
    assert metrics.total.mean_days == 19.5
    assert metrics.total.within_limit == 3


def test_backlog_counts_requests_open_more_than_30_days_at_the_end_of_the_period(march, analyst):
    metrics = lab_metrics(analyst, MARCH, now=AS_OF + 100 * DAY)
    assert metrics.as_of == AS_OF
    sections = by_key(metrics.by_section)
    dna = sections["dna"]
    assert (dna.open, dna.backlog) == (2, 1)  # exactly 30 days is not yet backlogged
    assert dna.oldest_days == 30.0
    drugs = sections["controlled-substances"]
    assert (drugs.open, drugs.backlog, drugs.oldest_days) == (1, 1, 45.0)  # released later
    assert (metrics.total.open, metrics.total.backlog) == (3, 2)


def test_figures_per_examination_type_name_their_section(march, analyst):
    exams = by_key(lab_metrics(analyst, MARCH, now=AS_OF).by_examination)
    assert set(exams) == {"cs-drug-identification", "tox-blood-alcohol", "dna-touch"}
    assert exams["dna-touch"].section == "DNA"
    assert (exams["dna-touch"].open, exams["dna-touch"].backlog) == (2, 1)
    assert exams["tox-blood-alcohol"].released == 2


def test_an_unfinished_period_counts_open_requests_now(march, analyst):
    now = AS_OF - 10 * DAY  # 22 March: "edge" received 20 days ago, "over" just as long
    metrics = lab_metrics(analyst, MARCH, now=now)
    assert metrics.as_of == now
    dna = by_key(metrics.by_section)["dna"]
    assert (dna.open, dna.backlog) == (2, 0)


def test_an_agency_user_sees_only_their_own_agencys_figures(march, trooper, trooper_f):
    own = lab_metrics(trooper, MARCH, now=AS_OF)
    assert not own.whole_lab
    assert own.total.released == 3 and own.total.open == 3
    other = lab_metrics(trooper_f, MARCH, now=AS_OF)
    assert other.total.released == 1
    assert other.total.open == 0
    assert [row.key for row in other.by_section] == ["toxicology"]


def test_lab_staff_see_every_section_even_without_work(march, labintake):
    metrics = lab_metrics(labintake, MARCH, now=AS_OF)
    assert metrics.whole_lab
    assert len(metrics.by_section) == 7
    assert metrics.total.released == 4


# --- the page -----------------------------------------------------------------------------------

URL = "/staff/lab/metrics/"
MARCH_QUERY = {"first": "2025-03-01", "last": "2025-03-31"}


def test_metrics_page_shows_the_figures_in_tables_and_chart_data(march, analyst, sign_in):
    response = sign_in(analyst).get(URL, MARCH_QUERY)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Controlled Substances" in body
    assert "chart.umd.min.js" in body
    assert 'id="metrics-data"' in body
    section = {row.key: row for row in response.context["metrics"].by_section}
    assert section["dna"].backlog == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"first": "2025-03-31", "last": "2025-03-01"}, "last"),
        ({"first": "not a date", "last": "2025-03-31"}, "first"),
        ({"first": "2015-01-01", "last": "2025-03-31"}, "first"),
    ],
)
def test_a_bad_period_is_refused_next_to_its_field(query, field, analyst, sign_in):
    response = sign_in(analyst).get(URL, query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert response.context["metrics"] is None


def test_metrics_csv_holds_the_same_figures(march, analyst, sign_in):
    response = sign_in(analyst).get(URL + "export.csv", MARCH_QUERY)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    dna = next(row for row in rows if row["group"] == "section" and row["key"] == "dna")
    assert dna["open"] == "2" and dna["backlog_over_30_days"] == "1"
    drugs = next(row for row in rows if row["key"] == "controlled-substances")
    assert drugs["released"] == "2" and drugs["mean_turnaround_days"] == "20.0"
    assert drugs["released_within_30_days"] == "2"
    total = next(row for row in rows if row["group"] == "total")
    assert total["released"] == "4" and total["period_first"] == "2025-03-01"
    exam = next(row for row in rows if row["key"] == "dna-touch")
    assert exam["group"] == "examination" and exam["section"] == "DNA"


def test_the_agency_csv_holds_only_the_agencys_figures(march, trooper_f, sign_in):
    response = sign_in(trooper_f).get(URL + "export.csv", MARCH_QUERY)
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    total = next(row for row in rows if row["group"] == "total")
    assert total["released"] == "1"
    assert {row["key"] for row in rows if row["group"] == "section"} == {"toxicology"}


@pytest.mark.parametrize("path", [URL, URL + "export.csv"])
def test_metrics_need_evidence_view(path, norole, auditor, sign_in, client):
    assert client.get(path).status_code == 302  # anonymous: to sign in
    assert sign_in(norole).get(path).status_code == 403
    assert sign_in(auditor).get(path).status_code == 403
