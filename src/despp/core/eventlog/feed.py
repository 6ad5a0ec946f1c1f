"""Reading the event log as a live feed: everything committed after a cursor, in order.

A cursor is an opaque string (it travels as the SSE `id:` / `Last-Event-ID`). A feed that
resumes from a cursor gets every event committed after the one the cursor names, exactly once,
in `seq` order, however the connection dropped. Callers must not parse it.

Why this needs care: appends do not wait for one another (see eventlog/__init__.py), so a
transaction can take `seq` 10, another take 11 and commit first. A reader that handed out 11
and moved its cursor past it would never see 10. On PostgreSQL the reader therefore delivers
only events at or below a *safe point*:

- A writer, before its first insert in a transaction, reads the event sequence's last value
  `f` and holds a shared transaction-level advisory lock (namespace `LOCK_NAMESPACE`, key the
  low 32 bits of `f`) until it commits or rolls back; every `seq` it then inserts is above
  `f`. (`registered_head_sql` does this in the statement that reads the stream head, once per
  transaction: a transaction-local setting remembers it.) Shared locks never wait for each
  other, so writers are not serialised.
- A reader reads the sequence's last value `s`, THEN the floors of every such lock held in
  this database by other sessions (pg_locks is one consistent snapshot of the lock table),
  THEN the events (a later statement, so a later snapshot). The safe point is the lowest of
  `s` and those floors.

An event at or below the safe point is never skipped: its transaction either held its lock
when the reader looked (so its floor bounds the safe point below the event), or finished
before (so the reader's later snapshot sees it if it committed), or locked afterwards (so its
`seq`, drawn after the reader read `s`, is above `s`). Waiting transactions of other databases,
read-only transactions and transactions that append nothing never hold a feed back; a long
transaction that has appended does, until it ends, which is why services append last.

SQLite serialises writers, so there `seq` order is commit order and the safe point is simply
the newest event.
"""

from collections.abc import Iterable

from django.db import connection
from django.db.backends.utils import CursorWrapper

from despp.core.models import Event

# pg_locks.classid of the writers' locks ("DSPP" in ASCII); the key is in objid.
LOCK_NAMESPACE = int.from_bytes(b"DSPP", "big")
_REGISTERED = "despp.feed_floor"  # transaction-local setting: this transaction holds its lock
_TWO_32 = 2**32
_sequence_names: dict[str, str] = {}


class BadCursor(ValueError):
    """A cursor this log never issued (e.g. a mangled Last-Event-ID)."""


def _sequence(cursor: CursorWrapper) -> str:
    name = _sequence_names.get(connection.alias)
    if name is None:
        cursor.execute("SELECT pg_get_serial_sequence('core_event', 'seq')")
        name = _sequence_names[connection.alias] = cursor.fetchone()[0]
    return name


def _last_value_sql(sequence: str) -> str:
    """The last seq handed out (0 before the first); later inserts draw values above it.
    `sequence` comes from the catalogue (pg_get_serial_sequence), quoted where needed."""
    head = "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS v FROM "
    return head + sequence


def registered_head_sql(cursor: CursorWrapper) -> str:
    """PostgreSQL: the stream-head query (one %s: the stream) that also takes this
    transaction's floor lock the first time it runs in the transaction."""
    return f"""
        WITH registered AS (
            SELECT pg_advisory_xact_lock_shared(
                       {LOCK_NAMESPACE}, ((f.v + 2147483648) %% 4294967296 - 2147483648)::int
                   ),
                   set_config('{_REGISTERED}', f.v::text, true)
            FROM ({_last_value_sql(_sequence(cursor))}) f
            WHERE coalesce(current_setting('{_REGISTERED}', true), '') = ''
        )
        SELECT position, hash FROM core_event
        WHERE stream = %s AND (SELECT count(*) FROM registered) >= 0
        ORDER BY position DESC LIMIT 1"""  # noqa: S608 - constants and a catalogue name


def _safe_point() -> int:
    """The highest seq a reader may deliver now without skipping anything (see above)."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("SELECT coalesce(max(seq), 0) FROM core_event")
            return int(cursor.fetchone()[0])
        cursor.execute(_last_value_sql(_sequence(cursor)))
        newest = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
            " AND objsubid = 2 AND pid <> pg_backend_pid()"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [LOCK_NAMESPACE],
        )
        # A floor is known by its low 32 bits: take the value nearest the newest seq.
        floors = [newest + (low - newest + 2**31) % _TWO_32 - 2**31 for (low,) in cursor.fetchall()]
    return min([newest, *floors])


def head_cursor() -> str:
    """Where a new console starts: after every event already safe to deliver. (While appends
    are in flight this can be a little behind the newest event, so a console may receive an
    event its first render already showed; it never misses one.)"""
    return str(_safe_point())


def cursor_of(event: Event) -> str:
    return str(event.seq)


def read_after(
    cursor: str, *, limit: int = 500, stream_prefixes: Iterable[str] = ()
) -> tuple[list[Event], str]:
    """Up to `limit` events committed after `cursor` (oldest first) and the cursor to resume
    from. `stream_prefixes` (e.g. ("incident:", "unit:")) keeps only those streams; the cursor
    still advances past what was filtered out, so a quiet feed does not re-scan it."""
    if not cursor.isascii() or not cursor.isdigit():
        raise BadCursor(f"{cursor[:40]!r} is not a cursor of this event log")
    after = int(cursor)
    safe = _safe_point()
    if safe <= after:
        return [], cursor
    rows = list(Event.objects.filter(seq__gt=after, seq__lte=safe).order_by("seq")[:limit])
    if not rows:
        return [], cursor
    prefixes = tuple(stream_prefixes)
    events = [row for row in rows if not prefixes or row.stream.startswith(prefixes)]
    return events, str(rows[-1].seq)
