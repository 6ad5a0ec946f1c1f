"""Standard profiles: which interval, which share of calls, within how many seconds.

A profile is a named, versioned set of targets ("90 % of 911 calls answered within 15 s"),
declared once in `PROFILES` below; the reports compute any of them for a PSAP over any period
(selectors_reports.py). Editions that disagree are separate profiles, never silently merged.
Source marks as in shared/reference/fields-anchors-features.md §1.4 and §8: [V] seen in the
cited source, [K] known but not re-verified against the standard's text.

How a target is judged, per bucket (an hour, a day or a quarter of one PSAP's activity):

- the *population* is the rows the target is about (911 calls, incidents, or unit assignments,
  narrowed by the target's filters); a row is *measured* when both stamps of the interval are
  present and the end is not earlier than the start (`intervals.seconds_between`);
- *within* counts measured rows whose interval is at most the threshold. "Within 15 seconds"
  includes exactly 15 s. Databases compute the interval from epoch seconds (SQLite to the
  millisecond), so the comparison allows `TOLERANCE_S` (half a millisecond);
- the target *passes* when within / measured ≥ the fractile (integer arithmetic, no rounding:
  899 of 1,000 is a fail at 90 %), *fails* otherwise, and has *no verdict* on an empty bucket;
- the reported fractile (e.g. the 90th percentile) is the nearest-rank value: the smallest
  measured value v with at least that share of values ≤ v, i.e. the value of rank
  ⌈p·n⌉ in ascending order (PostgreSQL's `percentile_disc`). It passes exactly when the
  share-within rule passes, so the chart and the verdict never disagree.

Population rules (documented choices where the standards leave room):
- 911 calls exclude 10-digit lines (the answering standards are about emergency lines) and
  calls never answered (abandoned): they have no answer time; the reports count them apart.
- Incident targets exclude incidents merged into another (their calls moved to the survivor).
  NFPA 1221's processing targets apply to "high-priority call types"; here: priorities P1-P2.
- NFPA 1710 turnout and travel are per unit (each assignment's own stamps); turnout is 60 s
  for EMS incidents and 80 s for fire incidents; travel is that of the first unit of the named
  kinds to arrive on each incident. Police units are not measured by NFPA 1710.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models

from despp.dispatch.intervals import IntervalKey
from despp.dispatch.models import Discipline, UnitKind

TOLERANCE_S = 0.0005


class Population(models.TextChoices):
    CALLS = "calls", "911 calls"
    INCIDENTS = "incidents", "Incidents"
    UNITS = "units", "Unit responses"


POPULATION_OF: dict[IntervalKey, Population] = {
    IntervalKey.ANSWER: Population.CALLS,
    IntervalKey.ANSWER_TO_TRANSFER: Population.CALLS,
    IntervalKey.TRANSFER: Population.CALLS,
    IntervalKey.PROCESSING: Population.INCIDENTS,
    IntervalKey.HANDLING: Population.INCIDENTS,
    IntervalKey.TOTAL_RESPONSE: Population.INCIDENTS,
    IntervalKey.TURNOUT: Population.UNITS,
    IntervalKey.TRAVEL: Population.UNITS,
}


@dataclass(frozen=True)
class Target:
    key: str  # unique within its profile; used in URLs, CSV and JSON
    label: str
    interval: IntervalKey
    permille: int  # the fractile: 900 is "90 % of the time"
    threshold_s: int
    max_priority: int | None = None  # incidents: only priorities 1..max (1 = most urgent)
    disciplines: tuple[Discipline, ...] = ()  # only incidents of these disciplines
    unit_kinds: tuple[UnitKind, ...] = ()  # units: only these kinds
    first_arriving: bool = False  # units: only the first of `unit_kinds` on scene per incident

    @property
    def population(self) -> Population:
        return POPULATION_OF[self.interval]

    @property
    def goal_percent(self) -> float:
        return self.permille / 10

    def same_rows_as(self, other: "Target") -> bool:
        """Whether two targets measure the same interval over the same rows (one query)."""
        return (
            self.interval,
            self.max_priority,
            self.disciplines,
            self.unit_kinds,
            self.first_arriving,
        ) == (
            other.interval,
            other.max_priority,
            other.disciplines,
            other.unit_kinds,
            other.first_arriving,
        )


@dataclass(frozen=True)
class Profile:
    code: str
    name: str
    source: str
    note: str
    targets: tuple[Target, ...]

    def target(self, key: str) -> Target:
        for target in self.targets:
            if target.key == key:
                return target
        raise KeyError(key)


_FIRE_EMS_UNITS = (
    UnitKind.ENGINE,
    UnitKind.LADDER,
    UnitKind.RESCUE,
    UnitKind.TANKER,
    UnitKind.BRUSH,
    UnitKind.FIRE_CHIEF,
    UnitKind.ALS,
    UnitKind.BLS,
    UnitKind.EMS_SUPERVISOR,
)
_EMS_FIRST_RESPONSE = (UnitKind.ENGINE, UnitKind.RESCUE, UnitKind.ALS, UnitKind.BLS)


def _answer(percent: int, seconds: int) -> Target:
    return Target(
        f"answer-{percent}",
        f"{percent} % of 911 calls answered within {seconds} s",
        IntervalKey.ANSWER,
        percent * 10,
        seconds,
    )


def _processing(percent: int, seconds: int, *, high_priority: bool = True) -> Target:
    scope = "high-priority (P1-P2) incidents" if high_priority else "incidents"
    return Target(
        f"processing-{percent}",
        f"{percent} % of {scope} processed (answer → first unit notified) within {seconds} s",
        IntervalKey.PROCESSING,
        percent * 10,
        seconds,
        max_priority=2 if high_priority else None,
    )


PROFILES: tuple[Profile, ...] = (
    Profile(
        "nena-sta-020.1-2020",
        "NENA-STA-020.1-2020 (911 call answering)",
        "NENA-STA-020.1-2020, NENA news 2020-06-25 (nena.org/news/514408) [V]",
        "Harmonised with NFPA and APCO. Answer time counts from PSAP receipt.",
        (_answer(90, 15), _answer(95, 20)),
    ),
    Profile(
        "nfpa-1221-2019",
        "NFPA 1221 (2016 and 2019 editions)",
        "NFPA 1221 (2016/2019) §7.4 [K]; 64 s processing echoed by a secondary summary [V, weak]",
        "Processing targets apply to the standard's listed high-priority call types; here the "
        "P1-P2 incidents.",
        (_answer(90, 15), _answer(95, 20), _processing(90, 64), _processing(95, 106)),
    ),
    Profile(
        "nfpa-1221-2010",
        "NFPA 1221 (2010 edition)",
        "NFPA 1221 (2010) §7.4.1-7.4.2 as quoted in the Orange County NC EMS/911 study [V]",
        "Superseded; kept so older reports can be compared.",
        (_answer(95, 15), _answer(99, 40), _processing(95, 60), _processing(99, 90)),
    ),
    Profile(
        "nfpa-1225-2022",
        "NFPA 1225 (2022 edition)",
        "NFPA blog 'How Long Does It Take for your 911 Call to Be Answered?' (2023-01-23) [V]",
        "As the blog states it: answer 90 % within 10 s and processing (answer → first unit "
        "dispatched) 90 % within 60 s. This conflicts with NENA-STA-020.1's 15 s / 20 s; "
        "verify against the standard's text before relying on it.",
        (_answer(90, 10), _processing(90, 60, high_priority=False)),
    ),
    Profile(
        "nfpa-1710-2020",
        "NFPA 1710 (2020 edition): turnout and travel",
        "NFPA 1710 §4.1.2.1 via thecodecoach.blogspot.com and emergent.tech [V]; section "
        "numbers [K]",
        "Per unit. Turnout: EMS incidents 60 s, fire incidents 80 s. Travel: first engine on a "
        "fire incident 240 s; first unit able to treat (engine, rescue, ALS, BLS) on an EMS "
        "incident 240 s; first ALS unit on an EMS incident 480 s. Full first-alarm assembly "
        "(480 s / 610 s high-rise) is not computed.",
        (
            Target(
                "turnout-ems-90",
                "90 % of units on EMS incidents en route within 60 s of notification",
                IntervalKey.TURNOUT,
                900,
                60,
                disciplines=(Discipline.EMS,),
                unit_kinds=_FIRE_EMS_UNITS,
            ),
            Target(
                "turnout-fire-90",
                "90 % of units on fire incidents en route within 80 s of notification",
                IntervalKey.TURNOUT,
                900,
                80,
                disciplines=(Discipline.FIRE,),
                unit_kinds=_FIRE_EMS_UNITS,
            ),
            Target(
                "travel-first-engine-90",
                "90 % of first-arriving engines on fire incidents travel within 240 s",
                IntervalKey.TRAVEL,
                900,
                240,
                disciplines=(Discipline.FIRE,),
                unit_kinds=(UnitKind.ENGINE,),
                first_arriving=True,
            ),
            Target(
                "travel-first-ems-90",
                "90 % of first-arriving treating units on EMS incidents travel within 240 s",
                IntervalKey.TRAVEL,
                900,
                240,
                disciplines=(Discipline.EMS,),
                unit_kinds=_EMS_FIRST_RESPONSE,
                first_arriving=True,
            ),
            Target(
                "travel-first-als-90",
                "90 % of first-arriving ALS units on EMS incidents travel within 480 s",
                IntervalKey.TRAVEL,
                900,
                480,
                disciplines=(Discipline.EMS,),
                unit_kinds=(UnitKind.ALS,),
                first_arriving=True,
            ),
        ),
    ),
)

PROFILE_BY_CODE: dict[str, Profile] = {profile.code: profile for profile in PROFILES}
DEFAULT_PROFILE = "nena-sta-020.1-2020"


class Verdict(models.TextChoices):
    MEETS = "pass", "Meets the target"
    MISSES = "fail", "Misses the target"
    NO_DATA = "no data", "No measured rows"


def nearest_rank(permille: int, count: int) -> int:
    """⌈permille·count / 1000⌉: the 1-based rank of the fractile among `count` sorted values."""
    if count <= 0:
        raise ValueError("no values")
    return (permille * count + 999) // 1000


def fractile(sorted_values: Sequence[float], permille: int) -> float | None:
    """The nearest-rank fractile of ascending values; None for no values."""
    if not sorted_values:
        return None
    return sorted_values[nearest_rank(permille, len(sorted_values)) - 1]


def is_within(seconds: float, threshold_s: float) -> bool:
    return seconds <= threshold_s + TOLERANCE_S


def verdict(within: int, measured: int, permille: int) -> Verdict:
    if measured == 0:
        return Verdict.NO_DATA
    return Verdict.MEETS if within * 1000 >= permille * measured else Verdict.MISSES


def percent(within: int, measured: int) -> float | None:
    return None if measured == 0 else round(100 * within / measured, 2)
