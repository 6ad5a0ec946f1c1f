"""The NFPA 1710 / 1221 time intervals of a call and an incident, from the stored stamps.

Every interval is the difference of two stamps the dispatch floor records as it happens (never
estimated): a missing stamp gives `None`, and so does an end earlier than its start (clock skew
or a stamp entered by hand), which the compliance reports count as "inconsistent" rather than
as fast. Durations are seconds (float, microsecond precision).

Definitions, with where they come from (NFPA 1710, 2016/2020 editions, chapter 3 "Time"; the
1221/1225 communications standards use the same terms). Marks as in
shared/reference/fields-anchors-features.md: [V] seen quoted in a cited source, [K] known but not
re-verified against the standard's text.

- `answer`, alarm answering time: PSAP receipt (`Call.received_at`) to answer
  (`answered_at`). NFPA 1710 §3.3.53.1 [V]; targets in NFPA 1221 (2016/2019) §7.4 and
  NENA-STA-020.1.
- `answer_to_transfer`, answer to transfer or release: answer to `transferred_at`, else
  `released_at`. CGS 28-25b(f) "time from answer to transfer/termination" [V].
- `transfer`, alarm transfer time: receipt to `transferred_at`. NFPA 1710 §3.3.53.4 [V].
- `processing`, alarm processing time: the first answer among the incident's calls to the first
  unit notified (`Incident.first_notified_at`). NFPA 1710 §3.3.53.3 [V]; NFPA 1221 §7.4 [K].
- `handling`, alarm handling time: PSAP receipt (first call) to first unit notified.
  NFPA 1710 §3.3.53.2 [K].
- `turnout`, turnout time: unit notified (`Assignment.dispatched_at`; incident:
  `first_notified_at`) to en route. NFPA 1710 §3.3.53.8 [K]; objective §4.1.2.1 [K].
- `travel`, travel time: en route to on scene (incident: the first of each). NFPA 1710
  §3.3.53.7 [V: NFPA Journal 2015]; objective §4.1.2.1 [K].
- `total_response`, total response time: PSAP receipt (first call; else CAD entry
  `created_at`) to first on scene. NFPA 1710 §3.3.53.6 [K].

An incident that no 911 call started (officer-initiated, scheduled, received by EIDO transfer
without call times) has no `answer`, `processing` or `handling`: there was no alarm to answer.
Its `total_response` starts at CAD entry, the only receipt it has. The incident-level turnout
and travel use the incident's first-unit stamps (which may be two different units); the
per-unit figures NFPA 1710 holds to its objectives are `assignment_intervals`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models


class IntervalKey(models.TextChoices):
    ANSWER = "answer", "Answer time (PSAP receipt → answer)"
    ANSWER_TO_TRANSFER = "answer_to_transfer", "Answer → transfer or release"
    TRANSFER = "transfer", "Alarm transfer (receipt → transferred)"
    PROCESSING = "processing", "Alarm processing (answer → first unit notified)"
    HANDLING = "handling", "Alarm handling (receipt → first unit notified)"
    TURNOUT = "turnout", "Turnout (notified → en route)"
    TRAVEL = "travel", "Travel (en route → on scene)"
    TOTAL_RESPONSE = "total_response", "Total response (receipt → first on scene)"


@dataclass(frozen=True)
class IntervalDefinition:
    key: IntervalKey
    start: str  # the stamp that opens the interval, as named in the docstring table
    end: str
    reference: str  # where the definition comes from (section numbers)


DEFINITIONS: dict[IntervalKey, IntervalDefinition] = {
    d.key: d
    for d in (
        IntervalDefinition(
            IntervalKey.ANSWER, "call received", "call answered", "NFPA 1710 §3.3.53.1"
        ),
        IntervalDefinition(
            IntervalKey.ANSWER_TO_TRANSFER,
            "call answered",
            "call transferred, else released",
            "CGS 28-25b(f)",
        ),
        IntervalDefinition(
            IntervalKey.TRANSFER, "call received", "call transferred", "NFPA 1710 §3.3.53.4"
        ),
        IntervalDefinition(
            IntervalKey.PROCESSING,
            "first call answered",
            "first unit notified",
            "NFPA 1710 §3.3.53.3; NFPA 1221 §7.4",
        ),
        IntervalDefinition(
            IntervalKey.HANDLING,
            "first call received",
            "first unit notified",
            "NFPA 1710 §3.3.53.2",
        ),
        IntervalDefinition(
            IntervalKey.TURNOUT, "unit notified", "unit en route", "NFPA 1710 §3.3.53.8"
        ),
        IntervalDefinition(
            IntervalKey.TRAVEL, "unit en route", "unit on scene", "NFPA 1710 §3.3.53.7"
        ),
        IntervalDefinition(
            IntervalKey.TOTAL_RESPONSE,
            "first call received (else CAD entry)",
            "first unit on scene",
            "NFPA 1710 §3.3.53.6",
        ),
    )
}


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """`end - start` in seconds; None when either stamp is missing or the end is earlier."""
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds()


def call_intervals(call: Any) -> dict[IntervalKey, float | None]:
    """The intervals one 911 call carries by itself."""
    ended = call.transferred_at or call.released_at
    return {
        IntervalKey.ANSWER: seconds_between(call.received_at, call.answered_at),
        IntervalKey.ANSWER_TO_TRANSFER: seconds_between(call.answered_at, ended),
        IntervalKey.TRANSFER: seconds_between(call.received_at, call.transferred_at),
    }


def _earliest(stamps: Iterable[datetime | None]) -> datetime | None:
    present = [stamp for stamp in stamps if stamp is not None]
    return min(present) if present else None


def incident_intervals(
    incident: Any, calls: Iterable[Any] | None = None
) -> dict[IntervalKey, float | None]:
    """The incident's intervals; `calls` defaults to the incident's own calls (one query).

    Receipt and answer are the earliest among the incident's calls: the alarm is the first
    call about the event, later calls about the same event do not restart the clock.
    """
    call_list = list(incident.calls.all() if calls is None else calls)
    received = _earliest(call.received_at for call in call_list)
    answered = _earliest(call.answered_at for call in call_list)
    return {
        IntervalKey.PROCESSING: seconds_between(answered, incident.first_notified_at),
        IntervalKey.HANDLING: seconds_between(received, incident.first_notified_at),
        IntervalKey.TURNOUT: seconds_between(
            incident.first_notified_at, incident.first_en_route_at
        ),
        IntervalKey.TRAVEL: seconds_between(incident.first_en_route_at, incident.first_on_scene_at),
        IntervalKey.TOTAL_RESPONSE: seconds_between(
            received or incident.created_at, incident.first_on_scene_at
        ),
    }


def assignment_intervals(assignment: Any) -> dict[IntervalKey, float | None]:
    """One unit's own turnout and travel on one incident (what NFPA 1710 §4.1.2.1 measures)."""
    return {
        IntervalKey.TURNOUT: seconds_between(assignment.dispatched_at, assignment.en_route_at),
        IntervalKey.TRAVEL: seconds_between(assignment.en_route_at, assignment.on_scene_at),
    }
