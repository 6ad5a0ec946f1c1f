"""Compliance and statutory reports, computed in the database and scoped to the caller.

Who sees what: a report is about one PSAP (an Agency of kind psap). A user sees the PSAPs in
their agency scope (their own, those under their agency; every PSAP with statewide.view); asking
for another is a 404 (`ReportNotFound`). The callers (views, API) hold `call.view`.

How it is computed (see report_sql.py for the SQL pieces): one grouped query per group of
targets that measure the same rows gives, per bucket, the population, the measured rows, the
inconsistent ones (end before start) and one conditional count per threshold; one window query
over the same rows (ROW_NUMBER / COUNT OVER the bucket, ordered by the interval) returns only
the rows at each fractile's nearest rank. No interval value travels to Python except those
fractile rows, so the cost is two sorts in the database, not a million-row transfer
(benchmarks/bench_reports.py measures it).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from despp.core.models import Agency, AgencyKind
from despp.core.scoping import visible_agency_ids
from despp.dispatch import compliance
from despp.dispatch.compliance import Population, Profile, Target, Verdict
from despp.dispatch.intervals import IntervalKey
from despp.dispatch.models import (
    Assignment,
    Call,
    CallStatus,
    ClassOfService,
    Incident,
    IncidentStatus,
)
from despp.dispatch.report_sql import Bucketing, Granularity, duration

MAX_BUCKETS = 2500  # a quarter of hours is ~2,200


class ReportNotFound(Exception):
    """The PSAP does not exist or is outside the caller's scope (a 404)."""


class InvalidReport(Exception):
    """A parameter the report cannot use; `field` names it (a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def report_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def visible_psaps(user: Any) -> QuerySet[Agency]:
    psaps = Agency.objects.filter(kind=AgencyKind.PSAP).order_by("name")
    visible = visible_agency_ids(user)
    if visible is None:
        return psaps
    return psaps.filter(pk__in=visible)


def psap_for(user: Any, code: str) -> Agency:
    found = visible_psaps(user).filter(code=code).first()
    if found is None:
        raise ReportNotFound(code)
    return found


def bucketing(granularity: str, first_day: date, last_day: date) -> Bucketing:
    if granularity not in Granularity.values:
        raise InvalidReport("granularity", f"expected one of {', '.join(Granularity.values)}")
    if last_day < first_day:
        raise InvalidReport("to", "the end date must not be before the start date")
    plan = Bucketing(Granularity(granularity), report_zone(), first_day, last_day)
    if len(plan.keys()) > MAX_BUCKETS:
        raise InvalidReport(
            "granularity", f"more than {MAX_BUCKETS} buckets: choose a shorter period or day"
        )
    return plan


# --- the rows each population measures -----------------------------------------------------


def _first_answer() -> Subquery:
    earliest = Call.objects.filter(incident=OuterRef("pk"), answered_at__isnull=False)
    return Subquery(earliest.order_by("answered_at").values("answered_at")[:1])


def _first_receipt() -> Subquery:
    earliest = Call.objects.filter(incident=OuterRef("pk"))
    return Subquery(earliest.order_by("received_at").values("received_at")[:1])


@dataclass(frozen=True)
class Rows:
    """A queryset annotated with `bucket` and `dur` (seconds; NULL when a stamp is missing)."""

    queryset: QuerySet[Any]
    time_column: str


def rows_for(target: Target, psap: Agency, plan: Bucketing) -> Rows:
    when = {"gte": plan.start, "lt": plan.end}
    interval = target.interval
    queryset: QuerySet[Any]
    if target.population == Population.CALLS:
        column = "received_at"
        queryset = Call.objects.filter(psap=psap).exclude(class_of_service=ClassOfService.TEN_DIGIT)
        if interval == IntervalKey.ANSWER:
            dur = duration(F("received_at"), F("answered_at"))
        elif interval == IntervalKey.TRANSFER:
            dur = duration(F("received_at"), F("transferred_at"))
        else:
            dur = duration(F("answered_at"), Coalesce("transferred_at", "released_at"))
    elif target.population == Population.INCIDENTS:
        column = "created_at"
        queryset = Incident.objects.filter(psap=psap).exclude(status=IncidentStatus.MERGED)
        if target.max_priority is not None:
            queryset = queryset.filter(priority__lte=target.max_priority)
        if target.disciplines:
            queryset = queryset.filter(nature__discipline__in=target.disciplines)
        if interval == IntervalKey.PROCESSING:
            queryset = queryset.annotate(opened=_first_answer())
            dur = duration(F("opened"), F("first_notified_at"))
        elif interval == IntervalKey.HANDLING:
            queryset = queryset.annotate(opened=_first_receipt())
            dur = duration(F("opened"), F("first_notified_at"))
        else:
            queryset = queryset.annotate(opened=Coalesce(_first_receipt(), F("created_at")))
            dur = duration(F("opened"), F("first_on_scene_at"))
    else:
        column = "dispatched_at"
        queryset = Assignment.objects.filter(incident__psap=psap).exclude(
            incident__status=IncidentStatus.MERGED
        )
        if target.disciplines:
            queryset = queryset.filter(incident__nature__discipline__in=target.disciplines)
        if target.unit_kinds:
            queryset = queryset.filter(unit__kind__in=target.unit_kinds)
        if target.first_arriving:
            earlier = Assignment.objects.filter(
                incident=OuterRef("incident"), unit__kind__in=target.unit_kinds
            ).filter(
                Q(on_scene_at__lt=OuterRef("on_scene_at"))
                | Q(on_scene_at=OuterRef("on_scene_at"), pk__lt=OuterRef("pk"))
            )
            queryset = queryset.filter(on_scene_at__isnull=False).exclude(Exists(earlier))
        if interval == IntervalKey.TURNOUT:
            dur = duration(F("dispatched_at"), F("en_route_at"))
        else:
            dur = duration(F("en_route_at"), F("on_scene_at"))
    queryset = queryset.filter(**{f"{column}__{op}": value for op, value in when.items()})
    annotated = queryset.annotate(bucket=plan.key_expression(column), dur=dur)
    return Rows(annotated, column)


# --- the computation ------------------------------------------------------------------------


@dataclass
class BucketResult:
    key: int
    start: datetime
    label: str
    population: int = 0
    measured: int = 0
    inconsistent: int = 0
    within: int = 0
    fractile_s: float | None = None

    @property
    def missing(self) -> int:
        return self.population - self.measured - self.inconsistent

    def percent(self) -> float | None:
        return compliance.percent(self.within, self.measured)

    def verdict(self, target: Target) -> Verdict:
        return compliance.verdict(self.within, self.measured, target.permille)


@dataclass
class TargetResult:
    target: Target
    buckets: list[BucketResult]
    overall: BucketResult  # the whole period as one bucket

    @property
    def rows(self) -> list[tuple[BucketResult, Verdict]]:
        return [(bucket, bucket.verdict(self.target)) for bucket in self.buckets]

    @property
    def overall_verdict(self) -> Verdict:
        return self.overall.verdict(self.target)


@dataclass
class ComplianceReport:
    psap: Agency
    profile: Profile
    granularity: Granularity
    first_day: date
    last_day: date
    results: list[TargetResult] = field(default_factory=list)


def _inner_sql(rows: Rows) -> tuple[str, tuple[Any, ...]]:
    """The rows as `SELECT bucket, dur`, to wrap in outer SQL, with a fence (SQLite `LIMIT -1`,
    PostgreSQL `OFFSET 0`) that stops the planner from flattening it into the outer query and
    so recomputing the interval once per reference: each row's interval is computed once."""
    inner = rows.queryset.order_by().values_list("bucket", "dur")
    sql, params = inner.query.sql_with_params()
    fence = " LIMIT -1" if connection.vendor == "sqlite" else " OFFSET 0"
    return sql + fence, tuple(params)


def _counts(rows: Rows, targets: list[Target]) -> dict[int, dict[str, int]]:
    """{bucket: {population, measured, inconsistent, within_<target key>...}}."""
    inner, params = _inner_sql(rows)
    within = ", ".join("SUM(CASE WHEN dur >= 0 AND dur <= %s THEN 1 ELSE 0 END)" for _ in targets)
    # Only placeholders and our own SQL are interpolated; values travel as parameters.
    sql = (
        "SELECT bucket, COUNT(*), SUM(CASE WHEN dur >= 0 THEN 1 ELSE 0 END), "  # noqa: S608
        f"SUM(CASE WHEN dur < 0 THEN 1 ELSE 0 END), {within} "
        f"FROM ({inner}) AS measured_rows GROUP BY bucket"
    )
    limits = tuple(float(t.threshold_s) + compliance.TOLERANCE_S for t in targets)
    found: dict[int, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, (*limits, *params))
        for bucket, population, measured, inconsistent, *counts in cursor.fetchall():
            found[int(bucket)] = {
                "population": population,
                "measured": int(measured or 0),
                "inconsistent": int(inconsistent or 0),
            } | {f"within_{t.key}": int(n or 0) for t, n in zip(targets, counts, strict=True)}
    return found


def _fractiles(rows: Rows, permilles: set[int]) -> dict[tuple[int | None, int], float]:
    """{(bucket key, permille): nearest-rank value} and {(None, permille): ...} for the whole
    period, from one query that returns only the rows standing at a fractile's rank."""
    inner, params = _inner_sql(rows)
    ranks = sorted(permilles)
    at_rank = " OR ".join(
        f"rn = ({p} * n + 999) / 1000 OR rn_all = ({p} * n_all + 999) / 1000" for p in ranks
    )
    # The permilles are integers from the declared profiles; values travel as parameters.
    sql = (
        "SELECT bucket, rn, n, rn_all, n_all, dur FROM ("  # noqa: S608
        "SELECT bucket, dur, "
        "ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY dur) AS rn, "
        "COUNT(*) OVER (PARTITION BY bucket) AS n, "
        "ROW_NUMBER() OVER (ORDER BY dur) AS rn_all, "
        "COUNT(*) OVER () AS n_all "
        f"FROM ({inner}) AS measured_rows WHERE dur >= 0) AS ranked WHERE {at_rank}"
    )
    found: dict[tuple[int | None, int], float] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for bucket, rn, n, rn_all, n_all, value in cursor.fetchall():
            for permille in ranks:
                if compliance.nearest_rank(permille, n) == rn:
                    found[(int(bucket), permille)] = round(value, 3)
                if compliance.nearest_rank(permille, n_all) == rn_all:
                    found[(None, permille)] = round(value, 3)
    return found


def _groups(targets: Iterable[Target]) -> list[list[Target]]:
    groups: list[list[Target]] = []
    for target in targets:
        for group in groups:
            if group[0].same_rows_as(target):
                group.append(target)
                break
        else:
            groups.append([target])
    return groups


MISSING = -1e300  # stands for "no interval" in the float array of the SQLite path


def _measure_in_python(
    rows: Rows, targets: list[Target], permilles: set[int]
) -> tuple[dict[int, dict[str, int]], dict[tuple[int | None, int], float]]:
    """SQLite: one fetch of (bucket, interval) per row, counted and ranked with numpy.

    SQLite's window sorts spill to disk past a few hundred thousand rows (33 s for a
    million-call quarter under load, against 6.7 s to fetch the column), so on SQLite the
    database computes each row's bucket and interval once and numpy does the rest."""
    inner, params = _inner_sql(rows)
    sql = f"SELECT bucket, COALESCE(dur, {MISSING}) FROM ({inner}) AS measured_rows"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        table = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 2)
    counts: dict[int, dict[str, int]] = {}
    found: dict[tuple[int | None, int], float] = {}
    if not len(table):
        return counts, found
    keys, index = np.unique(table[:, 0].astype(np.int64), return_inverse=True)
    dur = table[:, 1]
    measured = dur >= 0
    inconsistent = (dur < 0) & (dur > MISSING / 2)

    def per_bucket(mask: Any) -> Any:
        return np.bincount(index[mask], minlength=len(keys))

    population = np.bincount(index, minlength=len(keys))
    columns = {"measured": per_bucket(measured), "inconsistent": per_bucket(inconsistent)}
    for target in targets:
        limit = target.threshold_s + compliance.TOLERANCE_S
        columns[f"within_{target.key}"] = per_bucket(measured & (dur <= limit))
    for position, key in enumerate(keys.tolist()):
        counts[int(key)] = {"population": int(population[position])} | {
            name: int(values[position]) for name, values in columns.items()
        }
    values, groups = dur[measured], index[measured]
    if not len(values):
        return counts, found
    order = np.lexsort((values, groups))
    values, groups = values[order], groups[order]
    starts = np.searchsorted(groups, np.arange(len(keys)), side="left")
    ends = np.searchsorted(groups, np.arange(len(keys)), side="right")
    everything = np.sort(values)
    for permille in permilles:
        for position, key in enumerate(keys.tolist()):
            size = int(ends[position] - starts[position])
            if size:
                rank = compliance.nearest_rank(permille, size)
                found[(int(key), permille)] = round(float(values[starts[position] + rank - 1]), 3)
        rank = compliance.nearest_rank(permille, len(everything))
        found[(None, permille)] = round(float(everything[rank - 1]), 3)
    return counts, found


def _measure(
    rows: Rows, targets: list[Target]
) -> tuple[dict[int, dict[str, int]], dict[tuple[int | None, int], float]]:
    """Per-bucket counts and fractiles: in SQL on PostgreSQL, via numpy on SQLite."""
    permilles = {target.permille for target in targets}
    if connection.vendor == "sqlite":
        return _measure_in_python(rows, targets, permilles)
    return _counts(rows, targets), _fractiles(rows, permilles)


def compute(
    psap: Agency,
    profile: Profile,
    granularity: str,
    first_day: date,
    last_day: date,
) -> ComplianceReport:
    """The profile's targets for one PSAP, per bucket and over the whole period."""
    plan = bucketing(granularity, first_day, last_day)
    report = ComplianceReport(psap, profile, plan.granularity, first_day, last_day)
    keys = plan.keys()
    for group in _groups(profile.targets):
        rows = rows_for(group[0], psap, plan)
        counts, values = _measure(rows, group)
        for target in group:
            buckets = []
            total = BucketResult(-1, plan.start, "whole period")
            for key in keys:
                row = counts.get(key, {})
                bucket = BucketResult(
                    key,
                    plan.start_of(key),
                    plan.label(key),
                    population=row.get("population", 0),
                    measured=row.get("measured", 0),
                    inconsistent=row.get("inconsistent", 0),
                    within=row.get(f"within_{target.key}", 0),
                    fractile_s=values.get((key, target.permille)),
                )
                buckets.append(bucket)
                total.population += bucket.population
                total.measured += bucket.measured
                total.inconsistent += bucket.inconsistent
                total.within += bucket.within
            total.fractile_s = values.get((None, target.permille))
            report.results.append(TargetResult(target, buckets, total))
    return report


# --- Connecticut quarterly PSAP report (CGS 28-25b(f)) --------------------------------------


@dataclass
class QuarterRow:
    psap: Agency
    received: int
    answered: int
    abandoned: int
    transferred: int
    answer_mean_s: float | None
    answer_p90_s: float | None
    answered_within_15_pct: float | None
    answer_to_transfer_mean_s: float | None
    answer_to_transfer_measured: int


@dataclass
class QuarterReport:
    year: int
    quarter: int
    start: datetime
    end: datetime
    rows: list[QuarterRow]


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    if not 1 <= quarter <= 4:
        raise InvalidReport("quarter", "expected 1, 2, 3 or 4")
    if not 2000 <= year <= 2100:
        raise InvalidReport("year", "expected a year between 2000 and 2100")
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - timedelta(days=1)
    return first, last


def ct_quarterly(user: Any, year: int, quarter: int) -> QuarterReport:
    """One row per PSAP the user may see: what CGS 28-25b(f) asks each PSAP to report.

    Calls received are every call (10-digit lines included: the statute counts calls the PSAP
    received); answer figures are over answered calls (share within 15 s, mean, nearest-rank
    90th percentile); abandoned are calls that ended unanswered; answer-to-transfer is answer →
    transfer, else → release (termination).
    """
    first, last = quarter_bounds(year, quarter)
    plan = Bucketing(Granularity.QUARTER, report_zone(), first, last)
    psaps = list(visible_psaps(user))
    calls = Call.objects.filter(
        psap__in=psaps, received_at__gte=plan.start, received_at__lt=plan.end
    ).annotate(bucket=F("psap"), dur=duration(F("received_at"), F("answered_at")))
    fifteen = compliance.PROFILE_BY_CODE["nena-sta-020.1-2020"].target("answer-90")
    rows = Rows(calls, "received_at")
    counts, p90 = _measure(rows, [fifteen])
    handled = duration(F("answered_at"), Coalesce("transferred_at", "released_at"))
    extra = {
        row.pop("psap"): row
        for row in calls.annotate(handled=handled)
        .order_by()
        .values("psap")
        .annotate(
            abandoned=Count("pk", filter=Q(status=CallStatus.ABANDONED)),
            transferred=Count("pk", filter=Q(transferred_at__isnull=False)),
            answer_mean=Avg("dur", filter=Q(dur__gte=0.0)),
            handled_mean=Avg("handled", filter=Q(handled__gte=0.0)),
            handled_n=Count("pk", filter=Q(handled__gte=0.0)),
        )
    }

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    report_rows = []
    for psap in psaps:
        count = counts.get(psap.pk, {})
        more = extra.get(psap.pk, {})
        answered = count.get("measured", 0)
        report_rows.append(
            QuarterRow(
                psap=psap,
                received=count.get("population", 0),
                answered=answered,
                abandoned=more.get("abandoned", 0),
                transferred=more.get("transferred", 0),
                answer_mean_s=rounded(more.get("answer_mean")),
                answer_p90_s=p90.get((psap.pk, 900)),
                answered_within_15_pct=compliance.percent(
                    count.get(f"within_{fifteen.key}", 0), answered
                ),
                answer_to_transfer_mean_s=rounded(more.get("handled_mean")),
                answer_to_transfer_measured=more.get("handled_n", 0),
            )
        )
    return QuarterReport(year, quarter, plan.start, plan.end, report_rows)
