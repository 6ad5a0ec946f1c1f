"""Synthetic dispatch-floor activity for demos, training and load (`despp simulate`), and the
synthetic Connecticut call logs `despp replay` ships as samples.

Calls arrive as a Poisson process whose rate follows the hour of day (`DIURNAL`, relative
weights averaging 1) and falls on towns in proportion to their population, at a random point
inside the town's boundary, with a nature drawn from `NATURE_MIX` (police, fire and EMS codes
of the shipped table, weighted roughly as a state police / municipal PSAP mix). Each incident
is then worked as a dispatcher would: the recommendation is accepted after an alarm-processing
delay, each unit is dispatched, goes en route after its turnout time, drives to the scene at
the recommendation's ETA reporting AVL fixes every few seconds, stays on scene for a time
typical of the nature's discipline, clears and drives home reporting fixes; the incident is
closed with a disposition when its last unit clears.

Everything random comes from one `random.Random(seed)`, and the simulated clock is separate
from the wall clock (`speed` compresses it), so a run with a seed and a virtual clock
(`run(..., realtime=False)`) does the same things every time. Actions go through a `Driver`
(simulation_drivers.py: the services in process, or the HTTP API).
"""

import csv
import heapq
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

from shapely.geometry import Point, shape
from shapely.prepared import prep

# Relative call volume by hour of day (0 = midnight), mean 1.0: the usual 911 curve, lowest
# before dawn, highest in the late afternoon and early evening.
DIURNAL = (
    0.62, 0.52, 0.45, 0.40, 0.38, 0.42, 0.58, 0.82, 1.00, 1.10, 1.16, 1.20,
    1.24, 1.26, 1.30, 1.36, 1.42, 1.44, 1.40, 1.30, 1.18, 1.04, 0.90, 0.74,
)  # fmt: skip
CONNECTICUT = ZoneInfo("America/New_York")
# Statewide average: about two million 911 calls a year reach Connecticut's PSAPs.
CALLS_PER_HOUR = 230.0

# (nature code, weight, description a caller might give). Codes not in the loaded table are
# dropped at start-up; weights are relative.
NATURE_MIX: tuple[tuple[str, float, str], ...] = (
    ("MVA", 9, "two-car crash, airbags deployed"),
    ("MVAINJY", 5, "crash with injuries, one person trapped"),
    ("DISVEH", 6, "disabled vehicle in the travel lane"),
    ("RECKDRV", 6, "erratic driver weaving across lanes"),
    ("SUSP", 7, "suspicious person looking into cars"),
    ("DISORD", 5, "loud disturbance outside a bar"),
    ("DVNA", 4, "verbal argument between partners"),
    ("DVA", 2, "domestic fight, one party injured"),
    ("ALRBA", 6, "audible burglar alarm, front door zone"),
    ("ALRF", 4, "fire alarm sounding, no smoke seen"),
    ("SHOPLIFT", 4, "shoplifter detained by store security"),
    ("BURGLARY", 3, "back door forced open, house ransacked"),
    ("ASSAULT", 2, "fight in a parking lot"),
    ("911H", 5, "hang-up; callback unanswered"),
    ("WELFARE", 4, "elderly neighbour not seen for two days"),
    ("FALL", 6, "elderly woman fell, hip pain"),
    ("RESP", 5, "difficulty breathing"),
    ("CHESPAIN", 4, "chest pain, sweating"),
    ("CARDIAC", 2, "unresponsive man, CPR in progress"),
    ("SICK", 6, "sick person, fever and vomiting"),
    ("OD", 2, "suspected overdose, barely breathing"),
    ("STROKE", 2, "sudden slurred speech"),
    ("FSTRU", 2, "smoke showing from a house"),
    ("FVEH", 1, "car on fire on the shoulder"),
    ("GASLEAK", 1, "strong smell of gas in a basement"),
    ("ANIMAL", 2, "deer struck, still in the road"),
    ("LARCENY", 3, "catalytic converter stolen overnight"),
    ("VEHASST", 3, "motorist out of gas on the highway"),
    ("NOISE", 2, "loud party next door"),
    ("PERUNCON", 1, "man slumped over, not responding"),
)

# Simulated minutes: turnout (dispatched -> en route) and time on scene, by discipline.
TURNOUT_S = {"police": (10, 40), "fire": (60, 90), "ems": (45, 80)}
ON_SCENE_MIN = {"police": (8, 35), "fire": (15, 50), "ems": (12, 25)}
ALARM_PROCESSING_S = (35, 95)
RETRY_DISPATCH_S = 120
# Disposition by discipline, first one present in the table wins.
DISPOSITIONS = {
    "police": ("RPT", "WARN", "GOA", "UNF", "ADV"),
    "fire": ("FEXT", "CAN", "ADV"),
    "ems": ("TRN", "REF", "ADV"),
}


@dataclass(frozen=True)
class TownArea:
    name: str
    population: int
    boundary: dict[str, Any]  # GeoJSON geometry, lon/lat


class TownSampler:
    """Towns in proportion to population; points uniformly inside the chosen town."""

    def __init__(self, towns: Sequence[TownArea]) -> None:
        if not towns:
            raise ValueError("no towns: load the reference data first (despp load-reference)")
        self.towns = list(towns)
        self._cumulative = list(itertools.accumulate(max(t.population, 1) for t in self.towns))
        self._shapes: dict[str, Any] = {}

    def pick(self, rng: random.Random) -> tuple[TownArea, float, float]:
        town = rng.choices(self.towns, cum_weights=self._cumulative)[0]
        geometry, prepared = self._shape(town)
        west, south, east, north = geometry.bounds
        for _ in range(200):
            lon, lat = rng.uniform(west, east), rng.uniform(south, north)
            if prepared.contains(Point(lon, lat)):
                return town, round(lat, 6), round(lon, 6)
        point = geometry.representative_point()
        return town, round(point.y, 6), round(point.x, 6)

    def _shape(self, town: TownArea) -> tuple[Any, Any]:
        found = self._shapes.get(town.name)
        if found is None:
            geometry = shape(town.boundary)
            found = self._shapes[town.name] = (geometry, prep(geometry))
        return found


@dataclass(frozen=True)
class SyntheticCall:
    at: datetime
    town: str
    lat: float
    lon: float
    nature: str
    description: str


def call_arrivals(
    rng: random.Random,
    start: datetime,
    *,
    calls_per_hour: float = CALLS_PER_HOUR,
) -> Iterator[float]:
    """Seconds after `start` of successive calls: a Poisson process thinned by DIURNAL (by
    the hour in Connecticut)."""
    peak = calls_per_hour * max(DIURNAL) / 3600.0
    offset = 0.0
    while True:
        offset += rng.expovariate(peak)
        hour = (start + timedelta(seconds=offset)).astimezone(CONNECTICUT).hour
        if rng.random() * max(DIURNAL) <= DIURNAL[hour]:
            yield offset


def synthetic_calls(
    rng: random.Random,
    towns: TownSampler,
    natures: Sequence[tuple[str, float, str]],
    start: datetime,
    hours: float,
    *,
    calls_per_hour: float = CALLS_PER_HOUR,
) -> list[SyntheticCall]:
    """A synthetic call log of `hours` from `start` (for replay samples)."""
    codes = [code for code, _, _ in natures]
    weights = [weight for _, weight, _ in natures]
    said = {code: text for code, _, text in natures}
    calls = []
    for offset in call_arrivals(rng, start, calls_per_hour=calls_per_hour):
        if offset > hours * 3600:
            break
        town, lat, lon = towns.pick(rng)
        code = rng.choices(codes, weights)[0]
        at = start + timedelta(seconds=round(offset))
        calls.append(SyntheticCall(at, town.name, lat, lon, code, said[code]))
    return calls


LOG_COLUMNS = ("Incident No", "Received", "Y", "X", "Type", "Narrative", "Town")
# The mapping `despp replay` needs for a log written by write_log.
LOG_MAPPING = "id=Incident No,time=Received,lat=Y,lon=X,nature=Type,description=Narrative"


def write_log(out: IO[str], calls: Sequence[SyntheticCall]) -> None:
    """A CAD-export-like CSV (local times, as such exports have them) for `despp replay`."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LOG_COLUMNS)
    for number, call in enumerate(calls, 1):
        local = call.at.astimezone(CONNECTICUT).strftime("%m/%d/%Y %H:%M:%S")
        lat, lon = f"{call.lat:.6f}", f"{call.lon:.6f}"
        writer.writerow(
            [f"SYN-{number:05d}", local, lat, lon, call.nature, call.description, call.town]
        )


# --- the live simulation -------------------------------------------------------------------------


@dataclass
class UnitInfo:
    id: int
    call_sign: str
    discipline: str
    home_lat: float
    home_lon: float
    lat: float
    lon: float


@dataclass
class CallSpec:
    number: int
    lat: float
    lon: float
    nature: str
    description: str
    town: str


class Driver(Protocol):
    """What the simulation does on the floor; each method is one service call (one
    transaction) and raises DriverRefused for an answer a dispatcher would get (409, 422)."""

    def units(self) -> list[UnitInfo]: ...
    def call(self, spec: CallSpec) -> int | None: ...  # the incident opened or joined
    def recommend(self, incident_id: int) -> list[int]: ...
    def dispatch(self, incident_id: int, unit_ids: list[int]) -> dict[int, int]: ...
    def status(self, assignment_id: int, status: str) -> None: ...
    def position(self, unit_id: int, lat: float, lon: float) -> None: ...
    def close(self, incident_id: int, discipline: str) -> None: ...


class DriverRefused(Exception):
    """The server (or service) refused an action: counted, and the simulation carries on."""


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        shown = ", ".join(f"{name} {count}" for name, count in sorted(self.counts.items()))
        refused = sum(self.refused.values())
        return f"{shown}; refused {refused}" if refused else shown


class Simulation:
    """A discrete-event simulation of the dispatch floor over a Driver."""

    def __init__(
        self,
        driver: Driver,
        towns: TownSampler,
        natures: Sequence[tuple[str, str, float, str]],  # code, discipline, weight, text
        *,
        seed: int,
        start: datetime,
        calls_per_hour: float = CALLS_PER_HOUR,
        avl_seconds: float = 5.0,
    ) -> None:
        if not natures:
            raise ValueError("no nature codes to simulate: load the reference data first")
        self.driver = driver
        self.towns = towns
        self.rng = random.Random(seed)  # noqa: S311 - reproducible simulation, not secrets
        self.start = start
        self.avl_base = self.avl_seconds = avl_seconds
        self.natures = list(natures)
        self.units = {unit.id: unit for unit in driver.units()}
        self.stats = Stats()
        self.now = 0.0  # simulated seconds since start
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._calls = call_arrivals(self.rng, start, calls_per_hour=calls_per_hour)
        self._busy: set[int] = set()
        self._open: dict[int, tuple[str, set[int]]] = {}  # incident -> discipline, units on it
        self._points: dict[int, tuple[float, float]] = {}  # incident -> scene
        self._moving: dict[int, int] = {}  # unit -> generation (a newer trip cancels an older)
        self._call_number = 0
        self._schedule(next(self._calls), self._new_call)

    def _schedule(self, at: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (at, next(self._order), action))

    def run(
        self,
        seconds: float,
        *,
        speed: float = 1.0,
        realtime: bool = True,
        on_tick: Callable[["Simulation"], None] | None = None,
    ) -> Stats:
        """Run `seconds` of simulated time. `realtime`: pace it on the wall clock at `speed`
        (falling behind when the driver is slower, never skipping); otherwise as fast as the
        driver goes. Stops cleanly between two actions on KeyboardInterrupt."""
        began = time.monotonic()
        # Pace the fixes on the wall clock: a fix every avl_seconds of real time at any speed.
        self.avl_seconds = self.avl_base * max(1.0, speed) if realtime else self.avl_base
        try:
            while self._queue and self._queue[0][0] <= seconds:
                at, _, action = heapq.heappop(self._queue)
                if realtime:
                    wait = began + at / speed - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                self.now = at
                try:
                    action()
                except DriverRefused as exc:
                    self.stats.refused[type(exc).__name__ + ": " + str(exc)[:80]] += 1
                if on_tick is not None:
                    on_tick(self)
        except KeyboardInterrupt:
            self.stats.counts["stopped early"] = 1
        return self.stats

    # --- actions ---------------------------------------------------------------------------

    def _new_call(self) -> None:
        self._schedule(next(self._calls), self._new_call)
        self._call_number += 1
        town, lat, lon = self.towns.pick(self.rng)
        code, discipline, text = self._nature()
        spec = CallSpec(self._call_number, lat, lon, code, text, town.name)
        incident = self.driver.call(spec)
        self.stats.counts["calls"] += 1
        if incident is None or incident in self._open:
            self.stats.counts["calls joining an open incident"] += incident is not None
            return
        self.stats.counts["incidents"] += 1
        self._open[incident] = (discipline, set())
        self._points[incident] = (lat, lon)
        delay = self.rng.uniform(*ALARM_PROCESSING_S)
        self._schedule(self.now + delay, lambda: self._dispatch(incident, tries=0))

    def _nature(self) -> tuple[str, str, str]:
        code, discipline, _, text = self.rng.choices(
            self.natures, [weight for _, _, weight, _ in self.natures]
        )[0]
        return code, discipline, text

    def _dispatch(self, incident: int, tries: int) -> None:
        picks = [unit for unit in self.driver.recommend(incident) if unit not in self._busy]
        if not picks:
            if tries < 5:
                self._schedule(
                    self.now + RETRY_DISPATCH_S, lambda: self._dispatch(incident, tries + 1)
                )
            else:
                self._close(incident)
            return
        assignments = self.driver.dispatch(incident, picks)
        self.stats.counts["units dispatched"] += len(assignments)
        for unit_id, assignment in assignments.items():
            self._busy.add(unit_id)
            self._open[incident][1].add(unit_id)
            discipline = self.units[unit_id].discipline if unit_id in self.units else "police"
            turnout = self.rng.uniform(*TURNOUT_S.get(discipline, TURNOUT_S["police"]))
            self._schedule(self.now + turnout, self._en_route_later(unit_id, assignment, incident))

    def _en_route_later(self, unit_id: int, assignment: int, incident: int) -> Callable[[], None]:
        return lambda: self._en_route(unit_id, assignment, incident)

    def _en_route(self, unit_id: int, assignment: int, incident: int) -> None:
        self.driver.status(assignment, "en_route")
        self.stats.counts["en route"] += 1
        target = self._points.get(incident, (self.units[unit_id].lat, self.units[unit_id].lon))
        self._drive(unit_id, target, lambda: self._on_scene(unit_id, assignment, incident))

    def _on_scene(self, unit_id: int, assignment: int, incident: int) -> None:
        self.driver.status(assignment, "on_scene")
        self.stats.counts["on scene"] += 1
        discipline = self._open.get(incident, ("police", set()))[0]
        minutes = self.rng.uniform(*ON_SCENE_MIN.get(discipline, ON_SCENE_MIN["police"]))
        self._schedule(self.now + minutes * 60, lambda: self._clear(unit_id, assignment, incident))

    def _clear(self, unit_id: int, assignment: int, incident: int) -> None:
        self.driver.status(assignment, "cleared")
        self.stats.counts["cleared"] += 1
        self._busy.discard(unit_id)
        on_it = self._open.get(incident, ("", set()))[1]
        on_it.discard(unit_id)
        if not on_it:
            self._close(incident)
        unit = self.units.get(unit_id)
        if unit is not None:
            self._drive(unit_id, (unit.home_lat, unit.home_lon), lambda: None)

    def _close(self, incident: int) -> None:
        discipline, _ = self._open.pop(incident, ("police", set()))
        self.driver.close(incident, discipline)
        self.stats.counts["incidents closed"] += 1

    def _drive(self, unit_id: int, target: tuple[float, float], arrive: Callable[[], None]) -> None:
        """Move the unit toward `target` with a fix every avl_seconds, then `arrive`."""
        unit = self.units.get(unit_id)
        if unit is None:
            arrive()
            return
        generation = self._moving[unit_id] = self._moving.get(unit_id, 0) + 1
        km = _km(unit.lat, unit.lon, *target)
        kmh = self.rng.uniform(45, 75)
        steps = max(1, math.ceil(km / kmh * 3600 / self.avl_seconds))
        start = (unit.lat, unit.lon)

        def step(n: int) -> None:
            if self._moving.get(unit_id) != generation:
                return  # a newer trip (a new dispatch) took over
            fraction = n / steps
            unit.lat = start[0] + (target[0] - start[0]) * fraction
            unit.lon = start[1] + (target[1] - start[1]) * fraction
            self.driver.position(unit_id, round(unit.lat, 6), round(unit.lon, 6))
            self.stats.counts["AVL fixes"] += 1
            if n >= steps:
                arrive()
            else:
                self._schedule(self.now + self.avl_seconds, lambda: step(n + 1))

        self._schedule(self.now + self.avl_seconds, lambda: step(1))


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dlat = math.radians(lat2 - lat1)
    dlon = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    return 6371.0 * math.hypot(dlat, dlon)
