"""Reading the event log as a live feed: everything committed after a cursor, in order.

A cursor is an opaque string (it travels as the SSE `id:` / `Last-Event-ID`). A feed that
resumes from a cursor gets every event committed after the one the cursor names, exactly once,
in commit order, however the connection dropped. Today a cursor is the event's `seq`, which is
commit order because appends are serialised (see eventlog/__init__.py); callers must not parse
it, so the append scheme can change without touching a single console.
"""

from collections.abc import Iterable

from despp.core.models import Event


class BadCursor(ValueError):
    """A cursor this log never issued (e.g. a mangled Last-Event-ID)."""


def head_cursor() -> str:
    """The cursor of the newest committed event: a new console starts here."""
    newest = Event.objects.order_by("-seq").values_list("seq", flat=True).first()
    return str(newest or 0)


def cursor_of(event: Event) -> str:
    return str(event.seq)


def read_after(
    cursor: str, *, limit: int = 500, stream_prefixes: Iterable[str] = ()
) -> tuple[list[Event], str]:
    """Up to `limit` events committed after `cursor` (oldest first) and the cursor to resume
    from. `stream_prefixes` (e.g. ("incident:", "unit:")) keeps only those streams; the cursor
    still advances past what was filtered out, so a quiet feed does not re-scan it."""
    try:
        after = int(cursor)
    except ValueError:
        raise BadCursor(f"{cursor[:40]!r} is not a cursor of this event log") from None
    if after < 0:
        raise BadCursor(f"{cursor[:40]!r} is not a cursor of this event log")
    rows = list(Event.objects.filter(seq__gt=after).order_by("seq")[:limit])
    if not rows:
        return [], cursor
    prefixes = tuple(stream_prefixes)
    events = [row for row in rows if not prefixes or row.stream.startswith(prefixes)]
    return events, str(rows[-1].seq)
