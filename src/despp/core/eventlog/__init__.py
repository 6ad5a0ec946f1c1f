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

from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from despp.core.eventlog.chain import (
    GENESIS_HASH,
    EventDataError,
    canonical_json,
    check_text,
    event_hash,
    prepare_payload,
)
from despp.core.eventlog.verify import BrokenLink, Verification, verify_streams
from despp.core.models import Event, User

__all__ = [
    "GENESIS_HASH",
    "BrokenLink",
    "EventDataError",
    "Verification",
    "append",
    "canonical_json",
    "event_hash",
    "stream_events",
    "verify_streams",
]

_APPEND_ATTEMPTS = 5
# Key of the PostgreSQL advisory lock that serialises appends ("DESPPLOG" as ASCII bytes).
_APPEND_LOCK_KEY = int.from_bytes(b"DESPPLOG", "big") - 2**63
_MAX_STREAM = Event._meta.get_field("stream").max_length or 80
_MAX_KIND = Event._meta.get_field("kind").max_length or 60


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
    check_text("stream", stream)
    check_text("kind", kind)
    payload = prepare_payload(data)
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


def stream_events(stream: str) -> list[Event]:
    return list(Event.objects.filter(stream=stream).order_by("position"))
