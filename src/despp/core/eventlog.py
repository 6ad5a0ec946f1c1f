"""Append to and verify the hash-chained event log (see models/eventlog.py).

Each event's hash covers the previous event's hash in the same stream and every field of its
own, so altering, removing or re-ordering any stored event breaks the chain at that point, and
`verify_streams` names the first broken link.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from despp.core.models import Event, User

GENESIS_HASH = "0" * 64
_APPEND_ATTEMPTS = 5


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder
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
    body = canonical_json([prev_hash, stream, position, stamp, actor_id, actor_name, kind, data])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(
    stream: str, kind: str, data: dict[str, Any] | None = None, *, actor: User | None = None
) -> Event:
    """Append one event to `stream`, inside the caller's transaction (or a new one).

    Two writers extending the same stream at once collide on the unique (stream, position);
    the loser retries from the new head inside a savepoint, so neither event is lost.
    """
    # Round-trip through JSON so the hash covers exactly what the database will hand back.
    payload = json.loads(canonical_json(data or {}))
    actor_name = actor.get_username() if actor is not None else ""
    for attempt in range(_APPEND_ATTEMPTS):
        head = (
            Event.objects.filter(stream=stream)
            .order_by("-position")
            .values_list("position", "hash")
            .first()
        )
        position, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
        at = timezone.now()
        digest = event_hash(
            prev_hash=prev_hash,
            stream=stream,
            position=position,
            at=at,
            actor_id=actor.pk if actor is not None else None,
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
            if attempt == _APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class BrokenLink:
    stream: str
    position: int
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"stream {self.stream} event #{self.position} (seq {self.seq}): {self.reason}"


_VERIFY_FIELDS = (
    "seq",
    "stream",
    "position",
    "at",
    "actor_id",
    "actor_name",
    "kind",
    "data",
    "prev_hash",
    "hash",
)


def _rows(streams: Iterable[str] | None) -> Iterator[tuple[Any, ...]]:
    queryset = Event.objects.order_by("stream", "position")
    if streams is not None:
        queryset = queryset.filter(stream__in=list(streams))
    return queryset.values_list(*_VERIFY_FIELDS).iterator(chunk_size=5000)


def verify_streams(streams: Iterable[str] | None = None) -> tuple[int, list[BrokenLink]]:
    """Check every chain (or the named ones). Returns (events checked, first break per stream)."""
    checked = 0
    broken: list[BrokenLink] = []
    current_stream: str | None = None
    expected_prev = GENESIS_HASH
    expected_position = 1
    stream_broken = False
    for (
        seq,
        stream,
        position,
        at,
        actor_id,
        actor_name,
        kind,
        data,
        prev_hash,
        stored_hash,
    ) in _rows(streams):
        if stream != current_stream:
            current_stream, expected_prev, expected_position, stream_broken = (
                stream,
                GENESIS_HASH,
                1,
                False,
            )
        checked += 1
        if stream_broken:
            continue
        reason = ""
        if position != expected_position:
            reason = f"expected event #{expected_position}, found #{position} (an event is missing)"
        elif prev_hash != expected_prev:
            reason = "prev_hash does not match the previous event's hash"
        elif stored_hash != event_hash(
            prev_hash=prev_hash,
            stream=stream,
            position=position,
            at=at,
            actor_id=actor_id,
            actor_name=actor_name,
            kind=kind,
            data=data,
        ):
            reason = "hash does not match the event's contents (the event was altered)"
        if reason:
            broken.append(BrokenLink(stream=stream, position=position, seq=seq, reason=reason))
            stream_broken = True
            continue
        expected_prev = stored_hash
        expected_position = position + 1
    return checked, broken


def stream_events(stream: str) -> list[Event]:
    return list(Event.objects.filter(stream=stream).order_by("position"))
