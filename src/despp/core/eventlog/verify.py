"""Verify the event log: every stream's chain, in ranges of seq checked side by side.

A segment is a range of seq checked on its own: every event's hash against its contents, and
each event against the one before it in the same stream *within the segment*. The first event
of each stream in a segment is linked to the previous segment's last one by `_stitch`.
"""

import json
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections
from django.db.models import Count, Max, Min

from despp.core.eventlog.chain import GENESIS_HASH, digest
from despp.core.models import Event

_VERIFY_CHUNK = 5000


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
    prefix: str | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> Verification:
    """Check every chain (or the named streams', or those whose name starts with `prefix`,
    such as "item:"); report the first broken link of each.

    The log is cut into `workers` ranges of seq, each checked on its own (in a separate
    process when the database allows it) and the ranges then stitched together; by default
    one range per CPU for a large log. `progress`, when given, is called now and then with the
    number of events checked so far.
    """
    names = sorted(set(streams)) if streams is not None else None
    low, high, count = _seq_range(names, prefix)
    parts = workers if workers is not None else _default_workers(count)
    ranges = _split(low, high, max(1, parts))
    if len(ranges) > 1 and _can_fork():
        segments = _run_in_processes(ranges, names, prefix, progress)
    else:
        done = 0

        def tick(checked: int) -> None:
            nonlocal done
            done += checked
            if progress is not None:
                progress(done)

        segments = [_verify_segment(lo, hi, names, prefix, tick) for lo, hi in ranges]
    return _stitch(segments)


_decode_json = json.JSONDecoder().decode
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


def _seq_range(streams: list[str] | None, prefix: str | None) -> tuple[int, int, int]:
    queryset = Event.objects.all()
    if streams is not None:
        queryset = queryset.filter(stream__in=streams)
    if prefix is not None:
        queryset = queryset.filter(stream__startswith=prefix)
    bounds = queryset.aggregate(low=Min("seq"), high=Max("seq"), count=Count("seq"))
    return (bounds["low"] or 0), (bounds["high"] or 0), bounds["count"]


def _default_workers(count: int) -> int:
    return min(os.cpu_count() or 1, 8) if count >= _PARALLEL_FROM else 1


def _split(low: int, high: int, parts: int) -> list[tuple[int, int]]:
    """`parts` half-open ranges (lo, hi] of seq covering low..high."""
    width = max(1, -(-(high - low + 1) // parts))
    return [(start - 1, min(start - 1 + width, high)) for start in range(low, high + 1, width)]


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


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _verify_segment(
    low: int,
    high: int,
    streams: list[str] | None,
    prefix: str | None,
    tick: Callable[[int], None] | None,
) -> _Segment:
    """Check the events with low < seq <= high, a window of seq values at a time (a bounded
    index range each, whatever the planner knows about the table)."""
    vendor = connection.vendor
    where = "seq > %s AND seq <= %s"
    if streams is not None:
        where += f" AND stream IN ({', '.join(['%s'] * len(streams))})"
    filters = list(streams or [])
    if prefix is not None:
        where += " AND stream LIKE %s ESCAPE '\\'"
        filters.append(_like_prefix(prefix))
    sql = (
        f"SELECT seq, stream, position, {_STAMP_SQL[vendor]}, actor_id, actor_name, kind, "  # noqa: S608 (no user text in the SQL)
        f"{_DATA_SQL[vendor]}, prev_hash, hash FROM core_event WHERE {where} ORDER BY seq"
    )
    # A few named streams are few rows: read them in one window.
    window = _VERIFY_CHUNK if streams is None else max(1, high - low)
    segment = _Segment()
    with connection.cursor() as cursor:
        for start in range(low, high, window):
            cursor.execute(sql, [start, min(start + window, high), *filters])
            rows = cursor.fetchall()
            _check_rows(segment, rows)
            segment.events += len(rows)
            if tick is not None:
                tick(len(rows))
    return segment


def _check_rows(segment: _Segment, rows: list[tuple[Any, ...]]) -> None:
    # The verifier's hot loop (a million events per run): names are bound locally.
    first, last_of, broken = segment.first, segment.last, segment.broken
    decode = _decode_json
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


def _verify_in_worker(
    low: int, high: int, streams: list[str] | None, prefix: str | None
) -> _Segment:
    return _verify_segment(low, high, streams, prefix, _count_in_worker)


def _run_in_processes(
    ranges: list[tuple[int, int]],
    streams: list[str] | None,
    prefix: str | None,
    progress: Callable[[int], None] | None,
) -> list[_Segment]:
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    connections.close_all()  # each child opens its own; a forked socket must not be shared
    with ProcessPoolExecutor(
        max_workers=len(ranges), mp_context=context, initializer=_start_worker, initargs=(counter,)
    ) as pool:
        futures = [pool.submit(_verify_in_worker, lo, hi, streams, prefix) for lo, hi in ranges]
        while wait(futures, timeout=0.2).not_done:
            if progress is not None:
                progress(counter.value)
        if progress is not None:
            progress(counter.value)
        return [future.result() for future in futures]
