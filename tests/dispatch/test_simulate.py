"""`despp simulate`: calls by hour and population, units worked through their statuses with
AVL fixes; the same seed does the same things."""

import random
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from despp.core.models import Event, User
from despp.dispatch import simulation, simulation_drivers
from despp.dispatch.demo_units import load_units
from despp.dispatch.models import Assignment, Call, Incident
from tests.dispatch.calls_fixtures import dispatch_data, reference_data, reference_snapshot  # noqa: F401

START = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # noon in Connecticut
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-72.8, 41.6], [-72.6, 41.6], [-72.6, 41.8], [-72.8, 41.8], [-72.8, 41.6]]],
}
TOWNS = [
    simulation.TownArea("Bigtown", 100_000, SQUARE),
    simulation.TownArea("Smallville", 1_000, SQUARE),
]
NATURES = [("MVA", "police", 3.0, "crash"), ("FALL", "ems", 1.0, "fell")]


class RecordingDriver:
    """A floor with four units and no database: records what the simulation does."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.incidents = 0
        self.assignments = 0

    def units(self) -> list[simulation.UnitInfo]:
        return [
            simulation.UnitInfo(n, f"U{n}", "police", 41.7, -72.7, 41.7, -72.7)
            for n in (1, 2, 3, 4)
        ]

    def call(self, spec: simulation.CallSpec) -> int | None:
        self.incidents += 1
        self.log.append(("call", spec.lat, spec.lon, spec.nature))
        return self.incidents

    def recommend(self, incident_id: int) -> list[int]:
        return [1, 2, 3, 4]

    def dispatch(self, incident_id: int, unit_ids: list[int]) -> dict[int, int]:
        made = {}
        for unit in unit_ids[:1]:
            self.assignments += 1
            made[unit] = self.assignments
        self.log.append(("dispatch", incident_id, tuple(made)))
        return made

    def status(self, assignment_id: int, status: str) -> None:
        self.log.append(("status", assignment_id, status))

    def position(self, unit_id: int, lat: float, lon: float) -> None:
        self.log.append(("fix", unit_id, lat, lon))

    def close(self, incident_id: int, discipline: str) -> None:
        self.log.append(("close", incident_id, discipline))


def _run(seed: int, seconds: float = 1800) -> RecordingDriver:
    driver = RecordingDriver()
    sim = simulation.Simulation(
        driver,
        simulation.TownSampler(TOWNS),
        NATURES,
        seed=seed,
        start=START,
        calls_per_hour=60,
        avl_seconds=5,
    )
    sim.run(seconds, realtime=False)
    return driver


def test_the_same_seed_does_exactly_the_same_things_and_another_seed_does_not() -> None:
    first, again, other = _run(7), _run(7), _run(8)
    assert first.log == again.log
    assert first.log != other.log
    kinds = {entry[0] for entry in first.log}
    assert kinds == {"call", "dispatch", "status", "fix", "close"}


def test_a_unit_goes_en_route_on_scene_and_clears_in_that_order_with_fixes_between() -> None:
    log = _run(3).log
    statuses: dict[int, list[str]] = {}
    for entry in log:
        if entry[0] == "status":
            statuses.setdefault(entry[1], []).append(entry[2])
    assert statuses, "no assignment was worked"
    for sequence in statuses.values():
        assert sequence == ["en_route", "on_scene", "cleared"][: len(sequence)]
    first_en_route = log.index(("status", 1, "en_route"))
    on_scene = log.index(("status", 1, "on_scene"))
    assert any(entry[0] == "fix" for entry in log[first_en_route:on_scene])


def test_calls_follow_population_and_the_hour_of_day() -> None:
    rng = random.Random(5)
    sampler = simulation.TownSampler(TOWNS)
    picks = [sampler.pick(rng)[0].name for _ in range(2000)]
    assert picks.count("Bigtown") > 50 * picks.count("Smallville") / 2
    night = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 04:00 in Connecticut
    day_calls = simulation.synthetic_calls(rng, sampler, [("MVA", 1, "")], START, 2)
    night_calls = simulation.synthetic_calls(rng, sampler, [("MVA", 1, "")], night, 2)
    assert len(day_calls) > 2 * len(night_calls)
    lat, lon = day_calls[0].lat, day_calls[0].lon
    assert 41.6 <= lat <= 41.8 and -72.8 <= lon <= -72.6


def test_a_written_log_replays_with_the_mapping_it_prints(tmp_path: Path) -> None:
    from despp.dispatch import replay

    calls = simulation.synthetic_calls(
        random.Random(1), simulation.TownSampler(TOWNS), [("MVA", 1, "crash")], START, 1
    )
    path = tmp_path / "log.csv"
    with path.open("w", encoding="utf-8") as out:
        simulation.write_log(out, calls)
    log = replay.read_log(path, replay.parse_mapping(simulation.LOG_MAPPING), run_id="w")
    assert len(log.calls) == len(calls) and log.skipped == []
    assert log.calls[0].source_ref == "w-SYN-00001"


@pytest.mark.usefixtures("dispatch_data")
def test_the_services_driver_leaves_calls_incidents_status_and_position_events(
    dispatcher: User,
) -> None:
    load_units()
    driver = simulation_drivers.ServicesDriver(dispatcher, run_id="t", seed=4, agencies=None)
    sim = simulation.Simulation(
        driver,
        simulation.TownSampler(simulation_drivers.towns()),
        simulation_drivers.natures(),
        seed=4,
        start=START,
        calls_per_hour=240,
        avl_seconds=20,
    )
    stats = sim.run(20 * 60, realtime=False)
    counts = stats.counts
    assert counts["calls"] == Call.objects.filter(source_ref__startswith="t-").count() > 0
    assert counts["incidents"] == Incident.objects.count() > 0
    assert counts["AVL fixes"] == Event.objects.filter(kind="unit.position").count() > 0
    assert counts["units dispatched"] == Assignment.objects.count() > 0
    on_scene = Assignment.objects.exclude(on_scene_at=None).count()
    assert on_scene == counts["on scene"] > 0
    assert Event.objects.filter(kind="unit.status").exists()
    assert stats.refused == {}


@pytest.mark.usefixtures("dispatch_data")
def test_the_command_runs_a_seeded_simulation_and_prints_what_it_did(dispatcher: User) -> None:
    load_units()
    out = StringIO()
    call_command(
        "simulate", "--minutes", "10", "--fast", "--seed", "2", "--calls-per-hour", "120",
        "--user", "dispatcher", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "simulating 10 min" in text and "seed 2" in text
    assert "calls" in text.splitlines()[-1]


@pytest.mark.usefixtures("dispatch_data")
def test_the_command_writes_a_synthetic_log(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    out = StringIO()
    call_command(
        "simulate", "--write-log", str(path), "--minutes", "120", "--seed", "3", stdout=out
    )
    rows = path.read_text(encoding="utf-8").splitlines()
    assert rows[0] == ",".join(simulation.LOG_COLUMNS)
    assert len(rows) > 100
