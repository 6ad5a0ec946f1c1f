"""Append to and verify the hash-chained event log (see models/eventlog.py).

Each event's hash is SHA-256 over the UTF-8 bytes of the canonical JSON array

    [prev_hash, stream, position, at, actor_id, actor_name, kind, data]

(keys sorted, no spaces, `at` as UTC ISO 8601 with microseconds and "Z"), where `prev_hash` is
the hash of the stream's previous event, or 64 zeros for its first. Altering, removing or
re-ordering any stored event therefore breaks the chain at that point, and `verify_streams`
names the first broken link of each stream. Anyone can recompute the chain from an export with
this paragraph alone.

Appends are serialised database-wide (SQLite: the write lock taken at BEGIN; PostgreSQL: a
transaction-level advisory lock), so `seq` order is commit order: a live feed that resumes
"after seq N" can never miss an event committed later with a smaller seq. The lock is held to
the end of the caller's transaction, so a service should append its events after taking its
row locks (select_for_update), as the last writes of the transaction.

What the chain alone cannot show is a stream cut short at its newest events by someone who can
bypass the append-only triggers; anchor stream heads in another system when that matters.
"""

import hashlib
import json
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from despp.core.models import Event, User

GENESIS_HASH = "0" * 64
_APPEND_ATTEMPTS = 5
# Key of the PostgreSQL advisory lock that serialises appends ("DESPPLOG" as ASCII bytes).
_APPEND_LOCK_KEY = int.from_bytes(b"DESPPLOG", "big") - 2**63
_MAX_STREAM = Event._meta.get_field("stream").max_length or 80
_MAX_KIND = Event._meta.get_field("kind").max_length or 60
_VERIFY_CHUNK = 5000


class EventDataError(ValueError):
    """The event cannot be stored so that it reads back exactly as it was hashed."""


def canonical_json(value: Any) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        cls=DjangoJSONEncoder,
    )


def event_hash(
    *,
    prev_hash: str,
    stream: str,
    position: int,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    kind: str,
    data: Any,
) -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _digest([prev_hash, stream, position, stamp, actor_id, actor_name, kind, data])


# One encoder for the verifier's hot loop: the input is already plain JSON.
_encode_plain = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


_decode_json = json.JSONDecoder().decode


def _digest(body: list[Any]) -> str:
    return hashlib.sha256(_encode_plain(body).encode("utf-8")).hexdigest()


def _check_text(what: str, text: str) -> None:
    if "\x00" in text:
        raise EventDataError(f"{what} contains a NUL character, which databases cannot store")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EventDataError(f"{what} is not valid Unicode: {exc.reason}") from exc


def _storable(value: Any, where: str = "data") -> Any:
    """`value` as plain JSON that reads back identically from SQLite and PostgreSQL alike.

    PostgreSQL's jsonb keeps numbers as decimals, so 1e16 or 2.0 come back as the integers
    10000000000000000 and 2, and -0.0 as 0; integral floats are stored as those integers so the
    hash covers what the database will hand back. NaN, infinities, NUL characters and lone
    surrogates cannot be stored at all and are refused.
    """
    if isinstance(value, dict):
        for key in value:
            _check_text(f"{where} key {key!r}", key)
        return {key: _storable(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, str):
        _check_text(where, value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise EventDataError(f"{where} is {value}, which JSON cannot represent")
        if value.is_integer():
            return int(Decimal(repr(value)))
    return value


def _prepare_payload(data: dict[str, Any] | None) -> dict[str, Any]:
    try:
        # The JSON round trip applies DjangoJSONEncoder (dates, decimals, UUIDs become text).
        plain = json.loads(canonical_json(data or {}))
    except (TypeError, ValueError) as exc:
        raise EventDataError(f"event data is not JSON-serialisable: {exc}") from exc
    payload = _storable(plain)
    if not isinstance(payload, dict):
        raise EventDataError("event data must be a JSON object")
    return payload


def _serialise_appends() -> None:
    # SQLite already serialises writers (transaction_mode IMMEDIATE in settings).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK_KEY])


def _head(stream: str) -> tuple[int, str]:
    """(next position, previous hash) for `stream`."""
    head = (
        Event.objects.filter(stream=stream)
        .order_by("-position")
        .values_list("position", "hash")
        .first()
    )
    return (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)


def append(
    stream: str, kind: str, data: dict[str, Any] | None = None, *, actor: User | None = None
) -> Event:
    """Append one event to `stream`, inside the caller's transaction (or a new one).

    Raises EventDataError for a stream or kind that is empty or too long, or data that cannot
    be stored faithfully. Should a writer that bypasses `append` take the next position first,
    the insert collides on the unique (stream, position) and is retried from the new head.
    """
    if not stream or len(stream) > _MAX_STREAM:
        raise EventDataError(f"stream must be 1 to {_MAX_STREAM} characters")
    if not kind or len(kind) > _MAX_KIND:
        raise EventDataError(f"kind must be 1 to {_MAX_KIND} characters")
    _check_text("stream", stream)
    _check_text("kind", kind)
    payload = _prepare_payload(data)
    actor_id = actor.pk if actor is not None else None
    actor_name = actor.get_username() if actor is not None else ""
    # No savepoint of its own: the inner one per attempt is all a retry needs.
    with transaction.atomic(savepoint=False):
        _serialise_appends()
        for attempt in range(_APPEND_ATTEMPTS):
            position, prev_hash = _head(stream)
            at = timezone.now()
            digest = event_hash(
                prev_hash=prev_hash,
                stream=stream,
                position=position,
                at=at,
                actor_id=actor_id,
                actor_name=actor_name,
                kind=kind,
                data=payload,
            )
            try:
                with transaction.atomic():
                    return Event.objects.create(
                        stream=stream,
                        position=position,
                        at=at,
                        actor=actor,
                        actor_name=actor_name,
                        kind=kind,
                        data=payload,
                        prev_hash=prev_hash,
                        hash=digest,
                    )
            except IntegrityError:
                # Only a lost race for the position is worth retrying; anything else is real.
                if attempt == _APPEND_ATTEMPTS - 1 or _head(stream)[0] == position:
                    raise
    raise AssertionError("unreachable: the loop returns or raises")


@dataclass(frozen=True)
class BrokenLink:
    stream: str
    position: int
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"stream {self.stream} event #{self.position} (seq {self.seq}): {self.reason}"


@dataclass
class Verification:
    """What `verify_streams` found: events and streams checked, first break of each stream."""

    events: int = 0
    streams: int = 0
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken


def verify_streams(
    streams: Iterable[str] | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> Verification:
    """Check every chain (or the named streams'); report the first broken link of each.

    The log is cut into `workers` ranges of seq, each checked on its own (in a separate
    process when the database allows it) and the ranges then stitched together; by default
    one range per CPU for a large log. `progress`, when given, is called now and then with the
    number of events checked so far.
    """
    names = sorted(set(streams)) if streams is not None else None
    low, high, count = _seq_range(names)
    parts = workers if workers is not None else _default_workers(count)
    ranges = _split(low, high, max(1, parts))
    if len(ranges) > 1 and _can_fork():
        segments = _run_in_processes(ranges, names, progress)
    else:
        done = 0

        def tick(checked: int) -> None:
            nonlocal done
            done += checked
            if progress is not None:
                progress(done)

        segments = [_verify_segment(lo, hi, names, tick) for lo, hi in ranges]
    return _stitch(segments)


# --- verification internals ------------------------------------------------------------------
#
# A segment is a range of seq checked on its own: every event's hash against its contents, and
# each event against the one before it in the same stream *within the segment*. The first
# event of each stream in a segment is linked to the previous segment's last one by _stitch.

_PARALLEL_FROM = 200_000  # below this many events a second process costs more than it saves

_STAMP_SQL = {
    # Django stores SQLite datetimes as UTC text without the microseconds when they are zero.
    "sqlite": (
        "replace(CASE WHEN length(at) = 19 THEN at || '.000000' ELSE at END, ' ', 'T') || 'Z'"
    ),
    "postgresql": "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
}
_DATA_SQL = {"sqlite": "data", "postgresql": "data::text"}


@dataclass
class _Segment:
    events: int = 0
    first: dict[str, tuple[int, str, int]] = field(default_factory=dict)  # position, prev, seq
    last: dict[str, tuple[int, str]] = field(default_factory=dict)  # next position, hash
    broken: dict[str, BrokenLink] = field(default_factory=dict)


def _seq_range(streams: list[str] | None) -> tuple[int, int, int]:
    queryset = Event.objects.all()
    if streams is not None:
        queryset = queryset.filter(stream__in=streams)
    bounds = queryset.aggregate(low=Min("seq"), high=Max("seq"), count=Count("seq"))
    return (bounds["low"] or 0), (bounds["high"] or 0), bounds["count"]


def _default_workers(count: int) -> int:
    return min(os.cpu_count() or 1, 8) if count >= _PARALLEL_FROM else 1


def _split(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """`parts` half-open ranges (lo, hi] of seq covering low..high."""
    width = max(1, -(-(high - low + 1) // parts))
    return [(start - 1, min(start - 1 + width, high)) for start in range(low, high + 1, width)] or [
        (0, 0)
    ]


def _can_fork() -> bool:
    # Children need their own connections: impossible inside a transaction (they could not
    # see its rows) or on an in-memory SQLite database (they could not see it at all).
    if connection.in_atomic_block or "fork" not in multiprocessing.get_all_start_methods():
        return False
    return connection.vendor == "postgresql" or not connection.is_in_memory_db()  # type: ignore[attr-defined]


def _link_reason(position: int, prev_hash: str, expected: tuple[int, str]) -> str:
    if position == expected[0] and prev_hash == expected[1]:
        return ""
    if position != expected[0]:
        return (
            f"expected event #{expected[0]} next, found #{position} "
            "(an event is missing or out of order)"
        )
    return "prev_hash does not match the previous event's hash"


_ALTERED = "hash does not match the event's contents (the event was altered)"


def _verify_segment(
    low: int, high: int, streams: list[str] | None, tick: Callable[[int], None] | None
) -> _Segment:
    """Check the events with low < seq <= high, a window of seq values at a time (a bounded
    index range each, whatever the planner knows about the table)."""
    vendor = connection.vendor
    where = "seq > %s AND seq <= %s"
    if streams is not None:
        where += f" AND stream IN ({', '.join(['%s'] * len(streams))})"
    sql = (
        f"SELECT seq, stream, position, {_STAMP_SQL[vendor]}, actor_id, actor_name, kind, "  # noqa: S608 (no user text in the SQL)
        f"{_DATA_SQL[vendor]}, prev_hash, hash FROM core_event WHERE {where} ORDER BY seq"
    )
    # A few named streams are few rows: read them in one window.
    window = _VERIFY_CHUNK if streams is None else max(1, high - low)
    segment = _Segment()
    with connection.cursor() as cursor:
        for start in range(low, high, window):
            cursor.execute(sql, [start, min(start + window, high), *(streams or [])])
            rows = cursor.fetchall()
            _check_rows(segment, rows)
            segment.events += len(rows)
            if tick is not None:
                tick(len(rows))
    return segment


def _check_rows(segment: _Segment, rows: list[tuple[Any, ...]]) -> None:
    # The verifier's hot loop (a million events per run): names are bound locally.
    first, last_of, broken = segment.first, segment.last, segment.broken
    decode, digest = _decode_json, _digest
    for seq, stream, position, stamp, actor_id, actor_name, kind, data, prev, stored in rows:
        if stream in broken:
            continue
        last = last_of.get(stream)
        if last is None:
            first[stream] = (position, prev, seq)  # linked to the segment before by _stitch
            reason = ""
        else:
            reason = _link_reason(position, prev, last)
        if (
            not reason
            and digest([prev, stream, position, stamp, actor_id, actor_name, kind, decode(data)])
            != stored
        ):
            reason = _ALTERED
        if reason:
            broken[stream] = BrokenLink(stream, position, seq, reason)
            last_of.pop(stream, None)
        else:
            last_of[stream] = (position + 1, stored)


def _stitch(segments: list[_Segment]) -> Verification:
    heads: dict[str, tuple[int, str]] = {}
    broken: dict[str, BrokenLink] = {}
    for segment in segments:
        for stream, (position, prev_hash, seq) in segment.first.items():
            if stream in broken:
                continue
            reason = _link_reason(position, prev_hash, heads.get(stream, (1, GENESIS_HASH)))
            if reason:
                broken[stream] = BrokenLink(stream, position, seq, reason)
            elif stream in segment.broken:
                broken[stream] = segment.broken[stream]
            else:
                heads[stream] = segment.last[stream]
    return Verification(
        events=sum(segment.events for segment in segments),
        streams=len(set().union(*(segment.first for segment in segments))),
        broken=sorted(broken.values(), key=lambda link: link.seq),
    )


_worker_progress: Any = None  # a shared counter, set in each worker process


def _start_worker(counter: Any) -> None:
    global _worker_progress  # per-process state of a pool worker
    _worker_progress = counter


def _count_in_worker(checked: int) -> None:
    with _worker_progress.get_lock():
        _worker_progress.value += checked


def _verify_in_worker(low: int, high: int, streams: list[str] | None) -> _Segment:
    return _verify_segment(low, high, streams, _count_in_worker)


def _run_in_processes(
    ranges: list[tuple[int, int]],
    streams: list[str] | None,
    progress: Callable[[int], None] | None,
) -> list[_Segment]:
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    connections.close_all()  # each child opens its own; a forked socket must not be shared
    with ProcessPoolExecutor(
        max_workers=len(ranges), mp_context=context, initializer=_start_worker, initargs=(counter,)
    ) as pool:
        futures = [pool.submit(_verify_in_worker, lo, hi, streams) for lo, hi in ranges]
        while wait(futures, timeout=0.2).not_done:
            if progress is not None:
                progress(counter.value)
        if progress is not None:
            progress(counter.value)
        return [future.result() for future in futures]


def stream_events(stream: str) -> list[Event]:
    return list(Event.objects.filter(stream=stream).order_by("position"))
