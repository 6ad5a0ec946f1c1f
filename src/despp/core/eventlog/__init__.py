"""Append to and verify the hash-chained event log (see models/eventlog.py).

Each event's hash is SHA-256 over the UTF-8 bytes of the canonical JSON array

    [prev_hash, stream, position, at, actor_id, actor_name, kind, data]

(keys sorted, no spaces, `at` as UTC ISO 8601 with microseconds and "Z"), where `prev_hash` is
the hash of the stream's previous event, or 64 zeros for its first. Altering, removing or
re-ordering any stored event therefore breaks the chain at that point, and `verify_streams`
names the first broken link of each stream. Anyone can recompute the chain from an export with
this paragraph alone.

Appends do not wait for one another, except two appends to the same stream: the second one's
insert meets the first one's (stream, position) and waits for it to commit, then appends after
it (on PostgreSQL the loser then queues on a per-stream lock for the rest of its transaction,
so busy writers of one stream take turns rather than one starving). Live feeds still read
every event exactly once and in `seq` order (see feed.py): on PostgreSQL each appending
transaction first holds a shared advisory lock whose key is the event sequence's value at that
moment (a floor below every `seq` it will insert), and a feed reads only below the lowest floor
still held, so an event committed late with a smaller `seq` is never skipped. SQLite
serialises writers itself (the write lock taken at BEGIN), so there `seq` order is commit
order. A service should still append its events as the last writes of its transaction: a
feed waits for the slowest transaction that has appended.

What the chain alone cannot show is a stream cut short at its newest events by someone who can
bypass the append-only triggers; anchor stream heads in another system when that matters.
"""

from typing import Any, cast

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from despp.core.eventlog import feed
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

_APPEND_ATTEMPTS = 20
# After a lost race, the loser queues on a per-stream lock ("DSPS" namespace) for the rest of
# its transaction, so two busy writers of one stream take turns instead of one starving.
_STREAM_LOCK_NAMESPACE = int.from_bytes(b"DSPS", "big")
_MAX_STREAM = Event._meta.get_field("stream").max_length or 80
_MAX_KIND = Event._meta.get_field("kind").max_length or 60
# The columns of _INSERT, in its order.
_COLUMNS = (
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
_INSERT = (
    "INSERT INTO core_event (stream, position, at, actor_id, actor_name, kind, data,"
    " prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (stream, position) DO NOTHING RETURNING seq"
)
_AT_FIELD = cast("models.DateTimeField[Any, Any]", Event._meta.get_field("at"))
_DATA_FIELD = cast("models.JSONField[Any, Any]", Event._meta.get_field("data"))
_HEAD = "SELECT position, hash FROM core_event WHERE stream = %s ORDER BY position DESC LIMIT 1"


def _head(stream: str) -> tuple[int, str]:
    """(next position, previous hash) for `stream`; on PostgreSQL, the same statement first
    registers this transaction with the live feeds (feed.enter_sql)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(feed.registered_head_sql(cursor), [stream])
        else:
            cursor.execute(_HEAD, [stream])
        head = cursor.fetchone()
    return (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)


def _insert(event: Event) -> int | None:
    """Insert `event`; its seq, or None when another writer took its position first."""
    values = [getattr(event, column) for column in _COLUMNS]
    # The backend's own forms of a datetime and of JSON (text on SQLite, jsonb on PostgreSQL).
    values[2] = _AT_FIELD.get_db_prep_save(event.at, connection)
    values[6] = _DATA_FIELD.get_db_prep_save(event.data, connection)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, values)
        row = cursor.fetchone()
    return row[0] if row else None


def append(
    stream: str, kind: str, data: dict[str, Any] | None = None, *, actor: User | None = None
) -> Event:
    """Append one event to `stream`, inside the caller's transaction (or a new one).

    Raises EventDataError for a stream or kind that is empty or too long, or data that cannot
    be stored faithfully. When another writer takes the next position first (it committed in
    between, or the insert waited for it to commit), the insert does nothing and the append is
    retried from the new head; any other integrity error is raised as it is.
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
    # ON CONFLICT DO NOTHING leaves the transaction usable: no savepoint per attempt.
    with transaction.atomic(savepoint=False):
        for attempt in range(_APPEND_ATTEMPTS):
            if attempt == 1 and connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                        [_STREAM_LOCK_NAMESPACE, stream],
                    )
            position, prev_hash = _head(stream)
            at = timezone.now()
            event = Event(
                stream=stream,
                position=position,
                at=at,
                actor=actor,
                actor_name=actor_name,
                kind=kind,
                data=payload,
                prev_hash=prev_hash,
                hash=event_hash(
                    prev_hash=prev_hash,
                    stream=stream,
                    position=position,
                    at=at,
                    actor_id=actor_id,
                    actor_name=actor_name,
                    kind=kind,
                    data=payload,
                ),
            )
            seq = _insert(event)
            if seq is not None:
                event.seq = seq
                event._state.adding = False
                event._state.db = connection.alias
                return event
    raise IntegrityError(
        f"could not append to {stream!r}: its head moved {_APPEND_ATTEMPTS} times in a row"
    )


def stream_events(stream: str) -> list[Event]:
    return list(Event.objects.filter(stream=stream).order_by("position"))
