"""Compliance against standard profiles: fractile math, thresholds, buckets, pass/fail, and the
Connecticut quarterly figures, computed in the database (both SQLite and PostgreSQL paths)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from despp.dispatch.compliance import (
    PROFILE_BY_CODE,
    PROFILES,
    Population,
    Verdict,
    fractile,
    nearest_rank,
    verdict,
)
from despp.dispatch.models import CallStatus, ClassOfService, Discipline, IncidentStatus, UnitKind
from despp.dispatch.selectors_reports import (
    InvalidReport,
    compute,
    ct_quarterly,
    quarter_bounds,
)
from tests.dispatch.reports_data import make_assignment, make_call, make_incident, make_unit

NY = ZoneInfo("America/New_York")
DAY = date(2026, 5, 12)
NOON = datetime(2026, 5, 12, 12, tzinfo=NY)
NENA = PROFILE_BY_CODE["nena-sta-020.1-2020"]


def only(report, key):
    return next(result for result in report.results if result.target.key == key)


# --- the math -----------------------------------------------------------------------------


def test_nearest_rank_is_the_ceiling_of_p_times_n():
    assert nearest_rank(900, 1) == 1
    assert nearest_rank(900, 10) == 9
    assert nearest_rank(900, 11) == 10
    assert nearest_rank(950, 20) == 19
    assert nearest_rank(950, 21) == 20
    assert nearest_rank(990, 100) == 99
    with pytest.raises(ValueError):
        nearest_rank(900, 0)


def test_fractile_of_no_values_is_none_and_ties_give_the_tied_value():
    assert fractile([], 900) is None
    assert fractile([7.0], 900) == 7.0
    assert fractile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 900) == 9
    assert fractile([3, 3, 3, 3, 3, 3, 3, 3, 3, 20], 900) == 3


def test_the_verdict_is_exact_share_arithmetic_without_rounding():
    assert verdict(900, 1000, 900) == Verdict.MEETS
    assert verdict(899, 1000, 900) == Verdict.MISSES
    assert verdict(19, 20, 950) == Verdict.MEETS
    assert verdict(18, 20, 950) == Verdict.MISSES
    assert verdict(0, 0, 900) == Verdict.NO_DATA


def test_every_profile_target_is_unique_and_sound():
    assert {p.code for p in PROFILES} >= {
        "nena-sta-020.1-2020",
        "nfpa-1221-2019",
        "nfpa-1225-2022",
        "nfpa-1710-2020",
    }
    for profile in PROFILES:
        keys = [target.key for target in profile.targets]
        assert len(keys) == len(set(keys)), profile.code
        for target in profile.targets:
            assert 500 <= target.permille <= 1000 and target.threshold_s > 0
    nfpa_1221 = PROFILE_BY_CODE["nfpa-1221-2019"]
    assert [(t.permille, t.threshold_s) for t in nfpa_1221.targets] == [
        (900, 15),
        (950, 20),
        (900, 64),
        (950, 106),
    ]
    assert "conflicts with NENA" in PROFILE_BY_CODE["nfpa-1225-2022"].note


# --- computed in the database ---------------------------------------------------------------


@pytest.fixture
def eastern(agencies):
    return agencies["psap-csp-eastern"]


def test_exactly_the_threshold_counts_as_within_and_a_millisecond_more_does_not(eastern):
    for seconds in (4, 15, 15.001, 20, 20.0004):
        make_call(eastern, NOON, answer_s=seconds)
    report = compute(eastern, NENA, "day", DAY, DAY)
    fifteen, twenty = only(report, "answer-90").overall, only(report, "answer-95").overall
    assert (fifteen.measured, fifteen.within) == (5, 2)
    assert (twenty.measured, twenty.within) == (5, 5)
    assert fifteen.fractile_s == 20.0  # nearest rank 5 of 5, to the millisecond


def test_a_bucket_of_answer_times_passes_or_fails_by_the_exact_share(eastern):
    # 18 of 20 within 15 s = 90 %: passes 90/15. 19 within 20 s = 95 %: passes 95/20.
    for index in range(20):
        seconds = 10 if index < 18 else (18 if index == 18 else 25)
        make_call(eastern, NOON + timedelta(minutes=index), answer_s=seconds)
    report = compute(eastern, NENA, "day", DAY, DAY)
    ninety, ninety_five = only(report, "answer-90"), only(report, "answer-95")
    assert ninety.overall_verdict == Verdict.MEETS and ninety.overall.fractile_s == 10
    assert ninety_five.overall_verdict == Verdict.MEETS and ninety_five.overall.fractile_s == 18
    make_call(eastern, NOON, answer_s=16)  # 18 of 21 within 15 s: 85.7 %
    again = compute(eastern, NENA, "day", DAY, DAY)
    assert only(again, "answer-90").overall_verdict == Verdict.MISSES
    assert only(again, "answer-90").overall.percent() == 85.71


def test_every_bucket_of_the_period_is_listed_and_an_empty_one_has_no_verdict(eastern):
    make_call(eastern, NOON, answer_s=3)
    report = compute(eastern, NENA, "day", DAY - timedelta(days=1), DAY + timedelta(days=1))
    rows = only(report, "answer-90").rows
    assert [bucket.label for bucket, _ in rows] == ["2026-05-11", "2026-05-12", "2026-05-13"]
    assert [v for _, v in rows] == [Verdict.NO_DATA, Verdict.MEETS, Verdict.NO_DATA]
    assert rows[0][0].fractile_s is None and rows[0][0].percent() is None


def test_unanswered_ten_digit_and_out_of_order_calls_are_not_measured(eastern):
    make_call(eastern, NOON, answer_s=5)
    make_call(eastern, NOON)  # abandoned: no answer time
    make_call(eastern, NOON, answer_s=5, class_of_service=ClassOfService.TEN_DIGIT)
    make_call(eastern, NOON, answer_s=-3)  # answered before received: a clock fault
    overall = only(compute(eastern, NENA, "day", DAY, DAY), "answer-90").overall
    assert (overall.population, overall.measured, overall.missing, overall.inconsistent) == (
        3,
        1,
        1,
        1,
    )


def test_hour_buckets_follow_local_time_across_the_spring_dst_change(eastern):
    spring = date(2026, 3, 8)  # 02:00 EST -> 03:00 EDT
    make_call(eastern, datetime(2026, 3, 8, 1, 30, tzinfo=NY), answer_s=5)
    make_call(eastern, datetime(2026, 3, 8, 3, 30, tzinfo=NY), answer_s=25)
    report = compute(eastern, NENA, "hour", spring, spring)
    rows = only(report, "answer-90").rows
    assert len(rows) == 23
    labels = {bucket.label: bucket for bucket, _ in rows}
    assert labels["2026-03-08 01:00 EST"].within == 1
    assert labels["2026-03-08 03:00 EDT"].measured == 1
    assert labels["2026-03-08 03:00 EDT"].within == 0
    days = compute(eastern, NENA, "day", spring, spring)
    assert only(days, "answer-90").overall.measured == 2


def test_a_call_just_before_local_midnight_falls_on_that_local_day(eastern):
    make_call(eastern, datetime(2026, 5, 11, 23, 59, 59, tzinfo=NY), answer_s=5)
    report = compute(eastern, NENA, "day", date(2026, 5, 11), date(2026, 5, 12))
    rows = only(report, "answer-90").rows
    assert [bucket.measured for bucket, _ in rows] == [1, 0]


def test_quarters_split_the_period_at_calendar_quarters(eastern):
    make_call(eastern, datetime(2026, 3, 31, 23, 0, tzinfo=NY), answer_s=5)
    make_call(eastern, datetime(2026, 4, 1, 0, 30, tzinfo=NY), answer_s=30)
    report = compute(eastern, NENA, "quarter", date(2026, 2, 1), date(2026, 5, 31))
    rows = only(report, "answer-90").rows
    assert [(b.label, b.measured, b.within) for b, _ in rows] == [
        ("2026 Q1", 1, 1),
        ("2026 Q2", 1, 0),
    ]


def test_processing_counts_high_priority_incidents_from_the_first_answer(eastern):
    profile = PROFILE_BY_CODE["nfpa-1221-2019"]
    urgent = make_incident(eastern, NOON, priority=1, notified_s=70)
    make_call(eastern, NOON - timedelta(seconds=10), answer_s=4, incident=urgent)  # answered -6 s
    make_call(eastern, NOON, answer_s=2, incident=urgent)
    routine = make_incident(eastern, NOON, priority=4, notified_s=500)
    make_call(eastern, NOON, answer_s=2, incident=routine)
    merged = make_incident(eastern, NOON, priority=1, notified_s=900, status=IncidentStatus.MERGED)
    make_call(eastern, NOON, answer_s=2, incident=merged)
    report = compute(eastern, profile, "day", DAY, DAY)
    processing = only(report, "processing-90").overall
    assert processing.population == 1  # the P4 and the merged incident are not held to it
    assert processing.fractile_s == 76  # first answer at -6 s, first unit notified at +70 s
    assert only(report, "processing-95").overall_verdict == Verdict.MEETS
    assert only(report, "processing-90").overall_verdict == Verdict.MISSES  # 76 s > 64 s


def test_nfpa_1710_turnout_by_discipline_and_travel_of_the_first_engine(
    eastern, agencies, dispatcher
):
    profile = PROFILE_BY_CODE["nfpa-1710-2020"]
    fire = make_incident(eastern, NOON, code="FSTRU", discipline=Discipline.FIRE)
    ems = make_incident(eastern, NOON, code="MEDICAL", discipline=Discipline.EMS)
    station = agencies["csp-troop-c"]
    engine_1, engine_2 = make_unit(station, UnitKind.ENGINE), make_unit(station, UnitKind.ENGINE)
    ladder, ambulance = make_unit(station, UnitKind.LADDER), make_unit(station, UnitKind.ALS)
    trooper_car = make_unit(station, UnitKind.TROOP_CAR)
    make_assignment(engine_1, fire, dispatcher, NOON, en_route_s=70, on_scene_s=400)
    make_assignment(engine_2, fire, dispatcher, NOON, en_route_s=90, on_scene_s=300)  # first
    make_assignment(ladder, fire, dispatcher, NOON, en_route_s=75, on_scene_s=250)
    make_assignment(ambulance, ems, dispatcher, NOON, en_route_s=55, on_scene_s=500)
    make_assignment(trooper_car, ems, dispatcher, NOON, en_route_s=5, on_scene_s=60)
    report = compute(eastern, profile, "day", DAY, DAY)
    fire_turnout = only(report, "turnout-fire-90").overall
    assert (fire_turnout.measured, fire_turnout.within) == (3, 2)  # 70, 90, 75 against 80 s
    ems_turnout = only(report, "turnout-ems-90").overall
    assert (ems_turnout.measured, ems_turnout.within) == (1, 1)  # the trooper is not NFPA 1710's
    first_engine = only(report, "travel-first-engine-90").overall
    assert (first_engine.measured, first_engine.fractile_s) == (1, 210)  # engine 2: 90 -> 300
    assert only(report, "travel-first-engine-90").overall_verdict == Verdict.MEETS
    als = only(report, "travel-first-als-90").overall
    assert (als.fractile_s, only(report, "travel-first-als-90").overall_verdict) == (
        445,
        Verdict.MEETS,
    )
    assert only(report, "travel-first-ems-90").target.population == Population.UNITS


def test_another_psaps_calls_never_count(eastern, agencies):
    make_call(agencies["psap-csp-western"], NOON, answer_s=99)
    make_call(eastern, NOON, answer_s=3)
    overall = only(compute(eastern, NENA, "day", DAY, DAY), "answer-90").overall
    assert (overall.population, overall.fractile_s) == (1, 3)


def test_bad_report_parameters_name_their_field(eastern):
    with pytest.raises(InvalidReport) as bad:
        compute(eastern, NENA, "week", DAY, DAY)
    assert bad.value.field == "granularity"
    with pytest.raises(InvalidReport) as backwards:
        compute(eastern, NENA, "day", DAY, DAY - timedelta(days=1))
    assert backwards.value.field == "to"
    with pytest.raises(InvalidReport) as too_many:
        compute(eastern, NENA, "hour", date(2026, 1, 1), date(2026, 12, 31))
    assert too_many.value.field == "granularity"
    with pytest.raises(InvalidReport):
        quarter_bounds(2026, 5)


def test_ct_quarterly_counts_received_answered_transferred_and_abandoned(
    eastern, agencies, dispatcher
):
    start = datetime(2026, 4, 2, 9, tzinfo=NY)
    make_call(eastern, start, answer_s=6, release_s=120)
    make_call(eastern, start, answer_s=12, transfer_s=30, status=CallStatus.TRANSFERRED)
    make_call(eastern, start, answer_s=40, release_s=60)
    make_call(eastern, start)  # abandoned
    make_call(eastern, datetime(2026, 3, 31, 23, tzinfo=NY), answer_s=1)  # Q1
    make_call(agencies["psap-csp-western"], start, answer_s=1)  # not dispatcher's PSAP
    report = ct_quarterly(dispatcher, 2026, 2)
    assert [row.psap.code for row in report.rows] == ["psap-csp-eastern"]
    row = report.rows[0]
    assert (row.received, row.answered, row.transferred, row.abandoned) == (4, 3, 1, 1)
    assert row.answered_within_15_pct == 66.67
    assert row.answer_mean_s == pytest.approx(19.3, abs=0.05)
    assert row.answer_p90_s == 40
    assert row.answer_to_transfer_mean_s == 70  # (120 + 30 + 60) / 3
