"""The NFPA 1710 / 1221 intervals are differences of stored stamps, never guesses."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from despp.dispatch.intervals import (
    DEFINITIONS,
    IntervalKey,
    assignment_intervals,
    call_intervals,
    incident_intervals,
    seconds_between,
)

T0 = datetime(2026, 5, 1, 14, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def call(received: float, answered: float | None = None, **stamps: float | None) -> SimpleNamespace:
    return SimpleNamespace(
        received_at=at(received),
        answered_at=None if answered is None else at(answered),
        transferred_at=None if stamps.get("transferred") is None else at(stamps["transferred"]),
        released_at=None if stamps.get("released") is None else at(stamps["released"]),
    )


def incident(**stamps: float | None) -> SimpleNamespace:
    def stamp(name: str) -> datetime | None:
        value = stamps.get(name)
        return None if value is None else at(value)

    return SimpleNamespace(
        created_at=stamp("created") or T0,
        first_notified_at=stamp("notified"),
        first_en_route_at=stamp("en_route"),
        first_on_scene_at=stamp("on_scene"),
    )


def test_every_interval_has_a_definition_naming_its_standard_section():
    assert set(DEFINITIONS) == set(IntervalKey)
    for definition in DEFINITIONS.values():
        assert "§" in definition.reference or "CGS" in definition.reference
    assert DEFINITIONS[IntervalKey.ANSWER].reference == "NFPA 1710 §3.3.53.1"
    assert DEFINITIONS[IntervalKey.TURNOUT].reference == "NFPA 1710 §3.3.53.8"


def test_answer_time_runs_from_psap_receipt_to_answer():
    figures = call_intervals(call(0, 12.5, released=100))
    assert figures[IntervalKey.ANSWER] == 12.5
    assert figures[IntervalKey.ANSWER_TO_TRANSFER] == 87.5  # released: the call's termination
    assert figures[IntervalKey.TRANSFER] is None


def test_answer_to_transfer_uses_the_transfer_when_there_is_one():
    figures = call_intervals(call(0, 5, transferred=35, released=200))
    assert figures[IntervalKey.ANSWER_TO_TRANSFER] == 30
    assert figures[IntervalKey.TRANSFER] == 35


def test_an_unanswered_call_has_no_answer_time_rather_than_an_invented_one():
    figures = call_intervals(call(0))
    assert figures == {
        IntervalKey.ANSWER: None,
        IntervalKey.ANSWER_TO_TRANSFER: None,
        IntervalKey.TRANSFER: None,
    }


def test_a_stamp_earlier_than_its_start_gives_no_interval():
    assert seconds_between(at(10), at(9)) is None
    assert seconds_between(at(10), at(10)) == 0
    assert call_intervals(call(10, 4))[IntervalKey.ANSWER] is None


def test_incident_intervals_start_at_the_first_call_of_several():
    calls = [call(30, 40), call(0, 8), call(5, 6)]  # the second call was answered first
    figures = incident_intervals(
        incident(created=20, notified=50, en_route=110, on_scene=400), calls
    )
    assert figures[IntervalKey.PROCESSING] == 44  # first answer (6 s) -> first notified (50 s)
    assert figures[IntervalKey.HANDLING] == 50  # first receipt (0 s) -> first notified
    assert figures[IntervalKey.TURNOUT] == 60
    assert figures[IntervalKey.TRAVEL] == 290
    assert figures[IntervalKey.TOTAL_RESPONSE] == 400


def test_an_officer_initiated_incident_has_no_answer_or_processing_time():
    figures = incident_intervals(incident(created=0, notified=0, en_route=20, on_scene=80), [])
    assert figures[IntervalKey.PROCESSING] is None
    assert figures[IntervalKey.HANDLING] is None
    assert figures[IntervalKey.TOTAL_RESPONSE] == 80  # from CAD entry, the only receipt


def test_missing_unit_stamps_leave_turnout_and_travel_empty():
    figures = incident_intervals(incident(created=0, notified=30), [call(0, 3)])
    assert figures[IntervalKey.PROCESSING] == 27
    assert figures[IntervalKey.TURNOUT] is None
    assert figures[IntervalKey.TRAVEL] is None
    assert figures[IntervalKey.TOTAL_RESPONSE] is None


def test_each_units_own_turnout_and_travel():
    response = SimpleNamespace(dispatched_at=at(60), en_route_at=at(125), on_scene_at=at(361))
    assert assignment_intervals(response) == {IntervalKey.TURNOUT: 65, IntervalKey.TRAVEL: 236}
    reserved = SimpleNamespace(dispatched_at=None, en_route_at=None, on_scene_at=None)
    assert assignment_intervals(reserved) == {IntervalKey.TURNOUT: None, IntervalKey.TRAVEL: None}
