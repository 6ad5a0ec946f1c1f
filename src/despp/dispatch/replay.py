"""Replay a call log into a running server over HTTP (`despp replay FILE.csv`).

The log is a CSV file with a header row. A *mapping* names the columns that hold each field:
`time`, `lat`, `lon` (required), and `nature`, `description`, `callback`, `class_of_service`,
`id` (optional). Given as `time=Received,lat=Y,lon=X,nature=Type` or as a small file of
`field=Column` lines (`#` starts a comment).

Each row becomes one POST /api/dispatch/calls with a `source_ref` unique to the row
(`<run id>-<line number>`, the run id by default derived from the file's contents), so a
request retried after a timeout, a 503 or a restarted server can never make a second call, and
replaying the same file again adds nothing (the server answers 200 with the first call). Rows
are sent at their logged times divided by `speed` (or at a fixed `rate` per second), with at
most `concurrency` requests in flight.

The loss check reads the database DATABASE_URL names (the server's): every call the server
answered 201 or 200 must be there under its `source_ref`.
"""

import asyncio
import csv
import hashlib
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

FIELDS = ("time", "lat", "lon", "nature", "description", "callback", "class_of_service", "id")
REQUIRED = ("time", "lat", "lon")
CALLS_PATH = "/api/dispatch/calls"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
_TIME_FORMATS = (
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
)
_MAX_REF = 64


class MappingError(ValueError):
    """The mapping or the file's columns do not fit; the message says what to change."""


@dataclass(frozen=True)
class LogCall:
    line: int
    offset_s: float  # seconds after the log's first call
    lat: float
    lon: float
    nature: str = ""
    description: str = ""
    callback: str = ""
    class_of_service: str = "wireless"
    source_ref: str = ""

    def body(self, *, new_incident: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "source_ref": self.source_ref,
            "class_of_service": self.class_of_service,
            "lat": self.lat,
            "lon": self.lon,
            "description": self.description,
            "callback_number": self.callback,
            "new_incident": new_incident,
        }
        if self.nature:
            body["nature"] = self.nature
        return body


@dataclass
class CallLog:
    calls: list[LogCall]
    skipped: list[tuple[int, str]]  # (line, why)
    run_id: str


def parse_mapping(
    spec: str | None, overrides: dict[str, str | None] | None = None
) -> dict[str, str]:
    """field -> column. `spec` is `field=Column,...` or the path of a mapping file; the
    defaults are the field names themselves; `overrides` (--time-col etc.) win."""
    mapping = {name: name for name in FIELDS}
    pairs: list[str] = []
    if spec:
        path = Path(spec)
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            pairs = [line.split("#", 1)[0].strip() for line in lines]
        elif "=" in spec:
            pairs = [part.strip() for part in spec.split(",")]
        else:
            raise MappingError(f"--map {spec!r}: neither field=Column pairs nor a mapping file")
    for pair in filter(None, pairs):
        name, sep, column = (part.strip() for part in pair.partition("="))
        if not sep or not column:
            raise MappingError(f"mapping entry {pair!r} must read field=Column")
        if name not in FIELDS:
            raise MappingError(
                f"mapping names an unknown field {name!r}; fields: {', '.join(FIELDS)}"
            )
        mapping[name] = column
    for name, override in (overrides or {}).items():
        if override:
            mapping[name] = override
    return mapping


def _parse_time(text: str) -> datetime:
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _TIME_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)  # noqa: DTZ007 - offsets only
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"time {text!r} is not a date and time this reader knows") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(text: str, name: str, low: float, high: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} {value} is outside {low}..{high}")
    return value


def read_log(path: Path, mapping: dict[str, str], *, run_id: str | None = None) -> CallLog:
    """Parse the log. A column the mapping needs and the file lacks is a MappingError (naming
    the file's columns); a row that cannot be read is skipped and reported with its line."""
    raw = path.read_bytes()
    run = run_id or "replay-" + hashlib.sha256(raw).hexdigest()[:10]
    reader = csv.DictReader(raw.decode("utf-8-sig").splitlines())
    columns = reader.fieldnames or []
    missing = [f"{name} -> {mapping[name]!r}" for name in REQUIRED if mapping[name] not in columns]
    if missing:
        raise MappingError(
            f"{path.name} has no column for {', '.join(missing)}; its columns are: "
            f"{', '.join(columns) or '(none)'}. Name them with --map field=Column "
            "(or --time-col/--lat-col/--lon-col/--nature-col)."
        )
    optional = {name: mapping[name] for name in FIELDS if name not in REQUIRED}
    present = {name: column for name, column in optional.items() if column in columns}
    rows: list[tuple[int, datetime, dict[str, str]]] = []
    skipped: list[tuple[int, str]] = []
    for line, row in enumerate(reader, start=2):
        try:
            moment = _parse_time(row[mapping["time"]] or "")
            rows.append((line, moment, row))
        except ValueError as exc:
            skipped.append((line, str(exc)))
    rows.sort(key=lambda item: (item[1], item[0]))
    first = rows[0][1] if rows else None
    calls: list[LogCall] = []
    for line, moment, row in rows:
        try:
            own_id = row.get(present["id"], "").strip() if "id" in present else ""
            ref = f"{run}-{own_id or line}"
            if len(ref) > _MAX_REF:
                raise ValueError(f"id {own_id!r} makes a source_ref longer than {_MAX_REF}")
            calls.append(
                LogCall(
                    line=line,
                    offset_s=(moment - first).total_seconds() if first else 0.0,
                    lat=_number(row[mapping["lat"]] or "", "lat", -90, 90),
                    lon=_number(row[mapping["lon"]] or "", "lon", -180, 180),
                    nature=_cell(row, present, "nature").upper(),
                    description=_cell(row, present, "description")[:400],
                    callback=_cell(row, present, "callback")[:20],
                    class_of_service=_cell(row, present, "class_of_service") or "wireless",
                    source_ref=ref,
                )
            )
        except ValueError as exc:
            skipped.append((line, str(exc)))
    skipped.sort()
    return CallLog(calls=calls, skipped=skipped, run_id=run)


def _cell(row: dict[str, str], present: dict[str, str], name: str) -> str:
    return (row.get(present[name]) or "").strip() if name in present else ""


# --- sending -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    call: LogCall
    status: int | None = None  # final HTTP status, None when no answer came at all
    call_id: int | None = None
    problem: str = ""
    attempts: int = 0


@dataclass
class ReplayResult:
    outcomes: list[Outcome] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)  # every answered request
    retried: Counter[str] = field(default_factory=Counter)  # why attempts were repeated
    elapsed_s: float = 0.0
    missing: list[str] | None = None  # source_refs answered 2xx but not in the database

    @property
    def accepted(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in (200, 201)]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status not in (200, 201)]

    def by_status(self) -> Counter[str]:
        return Counter(
            str(o.status) if o.status is not None else "no answer" for o in self.outcomes
        )

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return ordered[index] * 1000

    def summary_line(self) -> str:
        lost = "not checked" if self.missing is None else str(len(self.missing))
        return f"sent {len(self.outcomes)}, accepted {len(self.accepted)}, lost {lost}"


ProgressHook = Callable[[Outcome], None]


@dataclass
class Sender:
    client: httpx.AsyncClient
    base_url: str
    retries: int = 5
    new_incident: bool = True
    result: ReplayResult = field(default_factory=ReplayResult)
    on_done: ProgressHook | None = None

    async def send(self, call: LogCall) -> Outcome:
        outcome = Outcome(call)
        url = self.base_url.rstrip("/") + CALLS_PATH
        body = call.body(new_incident=self.new_incident)
        for attempt in range(self.retries + 1):
            outcome.attempts = attempt + 1
            started = time.perf_counter()
            try:
                response = await self.client.post(url, json=body)
            except httpx.TransportError as exc:
                outcome.status, outcome.problem = None, f"{type(exc).__name__}: {exc}"[:200]
                self.result.retried[type(exc).__name__] += 1
                await asyncio.sleep(_backoff(attempt, None))
                continue
            self.result.latencies_s.append(time.perf_counter() - started)
            outcome.status = response.status_code
            if response.status_code in (200, 201):
                outcome.call_id = _call_id(response)
                outcome.problem = ""
                break
            outcome.problem = _problem(response)
            if response.status_code not in RETRY_STATUSES:
                break
            self.result.retried[str(response.status_code)] += 1
            await asyncio.sleep(_backoff(attempt, response.headers.get("Retry-After")))
        self.result.outcomes.append(outcome)
        if self.on_done is not None:
            self.on_done(outcome)
        return outcome


def _backoff(attempt: int, retry_after: str | None) -> float:
    if retry_after:
        try:
            return min(30.0, max(0.0, float(retry_after)))
        except ValueError:
            pass
    return min(8.0, 0.25 * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311 - jitter


def _call_id(response: httpx.Response) -> int | None:
    try:
        return int(response.json()["call"]["id"])
    except (ValueError, KeyError, TypeError):
        return None


def _problem(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return response.text[:200]
    if not isinstance(problem, dict):
        return str(problem)[:200]
    detail = problem.get("detail") or problem.get("title") or ""
    errors = problem.get("errors")
    if errors:
        detail = f"{detail} {errors}"
    return str(detail)[:300]


async def replay(
    calls: Sequence[LogCall],
    sender: Sender,
    *,
    speed: float | None = None,
    rate: float | None = None,
    concurrency: int = 32,
) -> ReplayResult:
    """Send every call on its schedule (log time / speed, or `rate` per second; neither: as
    fast as `concurrency` allows) and wait for the last answer."""
    gate = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(call: LogCall) -> None:
        async with gate:
            await sender.send(call)

    tasks: list[asyncio.Task[None]] = []
    for index, call in enumerate(calls):
        due = _due(index, call, speed=speed, rate=rate)
        if due is not None:
            delay = start + due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            await gate.acquire()  # as fast as allowed: do not queue thousands of tasks
            gate.release()
        tasks.append(asyncio.create_task(one(call)))
    await asyncio.gather(*tasks)
    sender.result.elapsed_s = loop.time() - start
    return sender.result


def _due(index: int, call: LogCall, *, speed: float | None, rate: float | None) -> float | None:
    if rate:
        return index / rate
    if speed:
        return call.offset_s / speed
    return None


# --- the loss check ------------------------------------------------------------------------------


def missing_from_database(refs: Iterable[str], *, chunk: int = 2000) -> list[str]:
    """The source_refs of `refs` with no call in the database."""
    from despp.dispatch.models import Call

    wanted = list(refs)
    found: set[str] = set()
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        found.update(Call.objects.filter(source_ref__in=part).values_list("source_ref", flat=True))
    return [ref for ref in wanted if ref not in found]


def check_loss(result: ReplayResult) -> list[str]:
    result.missing = missing_from_database(o.call.source_ref for o in result.accepted)
    return result.missing
