"""The dispatch floor's live feed: Server-Sent Events at /staff/dispatch/feed.

Every console opens one `EventSource` here and, for each event, re-fetches only the panel the
event touches. An event carries the log's opaque cursor as its SSE `id:`; a console that loses
its connection reconnects with `Last-Event-ID` (or `?last_event_id=`, which the console sets
to the cursor it was rendered at) and receives every later event exactly once, in commit
order (`despp.core.eventlog.feed.read_after`).

What a console receives is scoped like the rest of the floor (see `Scope`): an event goes to
users who may see its PSAP (`data["psap"]`, or any code of `data["psaps"]`), or whose home
units include its unit's agency (`data["agency"]`); an emergency goes to every console; an
event naming neither goes to statewide viewers only.
The message body is only what a console needs to know which panel to refresh (kind and ids),
never the event's data.

Under uvicorn (ASGI) a process keeps ONE poller per event loop that reads the log every
`POLL_SECONDS` and hands each batch to every open feed, so a hundred consoles cost one query
per tick, not a hundred; a feed that is behind (a resume, a slow reader) catches up from the
database by itself. Under WSGI (the development server, the browser tests' live server) the
same feed polls on its own thread.

A feed is passive (`Accept: text/event-stream`): it never keeps an idle session alive. It
re-reads the session every `SESSION_CHECK_SECONDS`; once the session has ended (idle,
lifetime, signed out, signed in elsewhere) it sends `event: signed-out` and closes, and the
console shows a sign-in-again banner instead of going quiet.
"""

import asyncio
import contextlib
import contextvars
import json
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, connection
from django.http import HttpRequest, StreamingHttpResponse

from despp.core import middleware
from despp.core.eventlog import feed as eventlog_feed
from despp.core.models import Agency, Event, User
from despp.core.permissions import Action, require
from despp.core.scoping import visible_agency_ids
from despp.dispatch.events import Kind
from despp.dispatch.selectors_units import home_agency_ids

logger = logging.getLogger(__name__)

STREAM_PREFIXES = ("call:", "incident:", "unit:")
POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 15.0
SESSION_CHECK_SECONDS = 10.0
RETRY_MS = 1000
READ_LIMIT = 500
# How many recent batches the shared poller keeps, so a feed a few ticks behind is served
# from memory; one further behind reads the database.
KEPT_BATCHES = 64
# A poller that has not read for this long is presumed stuck; feeds then poll by themselves.
STALE_SECONDS = 2.0

SIGNED_OUT = "event: signed-out\ndata: {}\n\n"
# Sent when the cursor a console resumes from was never issued: it must reload every panel.
RESYNC = "event: resync\ndata: {}\n\n"
# An officer's emergency alerts every console, whatever its scope, until acknowledged.
EVERY_CONSOLE = frozenset({Kind.UNIT_EMERGENCY, Kind.UNIT_EMERGENCY_ACK})


@dataclass(frozen=True)
class Scope:
    """Which events a console may receive: None in a field means every agency."""

    psaps: frozenset[str] | None
    unit_agencies: frozenset[str] | None

    def admits(self, event: Event) -> bool:
        if event.kind in EVERY_CONSOLE:
            return True
        data = event.data if isinstance(event.data, dict) else {}
        psaps = event_psaps(data)
        if psaps and (self.psaps is None or psaps & self.psaps):
            return True
        agency = data.get("agency")
        if isinstance(agency, str) and agency:
            return self.unit_agencies is None or agency in self.unit_agencies
        return self.psaps is None and self.unit_agencies is None


def _codes(ids: frozenset[int] | None) -> frozenset[str] | None:
    if ids is None:
        return None
    return frozenset(Agency.objects.filter(pk__in=ids).values_list("code", flat=True))


def scope_of(user: Any) -> Scope:
    """The PSAPs whose calls and incidents the user sees (as the selectors scope them) and
    the agencies whose units are the user's home units (selectors_units)."""
    return Scope(
        psaps=_codes(visible_agency_ids(user)), unit_agencies=_codes(home_agency_ids(user))
    )


def event_psaps(data: dict[str, Any]) -> set[str]:
    codes: set[str] = set()
    single = data.get("psap")
    if isinstance(single, str) and single:
        codes.add(single)
    several = data.get("psaps")
    if isinstance(several, list):
        codes.update(code for code in several if isinstance(code, str))
    return codes


def _id_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def message(event: Event) -> dict[str, Any]:
    """What a console is told about an event: enough to pick the panels to refresh."""
    data = event.data if isinstance(event.data, dict) else {}
    kind, _, ident = event.stream.partition(":")
    ids = {name: _id_or_none(data.get(name)) for name in ("incident", "unit", "call")}
    if ident.isdigit() and ids.get(kind) is None:
        ids[kind] = int(ident)
    return {"kind": event.kind, "stream": event.stream, **ids}


def sse_event(event: Event) -> str:
    body = json.dumps(message(event), separators=(",", ":"))
    return f"id: {eventlog_feed.cursor_of(event)}\ndata: {body}\n\n"


def sse_cursor(cursor: str) -> str:
    """An id-only message: moves the console's Last-Event-ID past events it may not see, so a
    reconnect does not re-read them (the browser dispatches nothing for it)."""
    return f"id: {cursor}\n\n"


@dataclass
class Listener:
    """One console's place in the feed, what it may see, and its session."""

    cursor: str
    scope: Scope
    user_id: int
    session_key: str | None
    # The last cursor sent as an SSE id; an id-only line is sent when the cursor moves past
    # events this console may not see.
    sent_cursor: str = ""
    failing: bool = False

    def take(self, events: list[Event], end: str) -> list[str]:
        """SSE chunks for a batch read after `self.cursor`, advancing the cursor to `end`."""
        chunks = []
        for event in events:
            if self.scope.admits(event):
                chunks.append(sse_event(event))
                self.sent_cursor = eventlog_feed.cursor_of(event)
        if end != self.sent_cursor and end != self.cursor:
            chunks.append(sse_cursor(end))
            self.sent_cursor = end
        self.cursor = end
        return chunks

    def read_database(self) -> tuple[list[str], bool]:
        """Everything committed after the cursor (several pages if need be) as SSE chunks, and
        whether anything was read at all. A database error (a locked SQLite table, a
        PostgreSQL restart) only ends this read: the cursor stays with the last page sent, so
        the next read picks up exactly there."""
        chunks: list[str] = []
        moved = False
        while True:
            try:
                events, end = eventlog_feed.read_after(
                    self.cursor, limit=READ_LIMIT, stream_prefixes=STREAM_PREFIXES
                )
            except DatabaseError:
                if not self.failing:  # once per outage, not four times a second
                    logger.warning("dispatch feed: reading the event log failed", exc_info=True)
                self.failing = True
                connection.close_if_unusable_or_obsolete()
                return chunks, moved
            self.failing = False
            if end == self.cursor:
                return chunks, moved
            moved = True
            chunks += self.take(events, end)

    def session_alive(self) -> bool:
        """Whether the console's session still stands (re-read from the store: another tab
        may have signed out, and the idle clock moves with what the person does elsewhere)."""
        if self.session_key is None:
            return False
        try:
            return self._session_alive(self.session_key)
        except DatabaseError:
            # A database that cannot answer now is no reason to sign anyone out.
            connection.close_if_unusable_or_obsolete()
            return True

    def _session_alive(self, session_key: str) -> bool:
        engine = import_module(settings.SESSION_ENGINE)
        session = engine.SessionStore(session_key=session_key)
        if str(session.get(SESSION_KEY, "")) != str(self.user_id):
            return False
        user = User.objects.filter(pk=self.user_id, is_active=True).first()
        if user is None:
            return False
        return middleware._expiry_reason(session, middleware._now(), user) is None


@dataclass
class Chores:
    """When a feed last sent something and last checked its session."""

    beat: float = field(default_factory=time.monotonic)
    check: float = field(default_factory=time.monotonic)

    def due(self, sent: bool) -> tuple[bool, bool]:
        """(check the session now, send a heartbeat now)."""
        now = time.monotonic()
        if sent:
            self.beat = now
        check = now - self.check >= SESSION_CHECK_SECONDS
        if check:
            self.check = now
        beat = now - self.beat >= HEARTBEAT_SECONDS
        if beat:
            self.beat = now
        return check, beat


HEARTBEAT = ": keep-alive\n\n"


@dataclass(frozen=True)
class Batch:
    start: str
    end: str
    events: tuple[Event, ...]


def _read_for_poller(head: str | None) -> tuple[list[Event], str]:
    """One tick of the shared poller, on its own thread and database connection."""
    try:
        if head is None:
            return [], eventlog_feed.head_cursor()
        return eventlog_feed.read_after(head, limit=READ_LIMIT, stream_prefixes=STREAM_PREFIXES)
    except Exception:
        # A dropped connection must not end every console's feed: reconnect on the next tick.
        # Feeds keep their own cursors, so nothing is lost meanwhile.
        connection.close()
        raise


@dataclass
class Poller:
    """The one reader of the log per event loop; feeds wait on it for new batches."""

    head: str | None = None
    batches: OrderedDict[str, Batch] = field(default_factory=OrderedDict)
    listeners: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    task: asyncio.Task[None] | None = None
    read_at: float = 0.0  # monotonic time of the last successful read

    @property
    def fresh(self) -> bool:
        """Whether the poller has read the log lately (else feeds read it themselves)."""
        return self.head is not None and time.monotonic() - self.read_at < STALE_SECONDS

    def chain_from(self, cursor: str) -> list[Batch]:
        """The kept batches that continue exactly from `cursor`, in order."""
        chain = []
        while (batch := self.batches.get(cursor)) is not None:
            chain.append(batch)
            cursor = batch.end
        return chain

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        # One thread, hence one database connection, for the poller's reads.
        thread = ThreadPoolExecutor(1, thread_name_prefix="dispatch-feed")
        failing = False
        try:
            while self.listeners > 0:
                try:
                    events, end = await loop.run_in_executor(thread, _read_for_poller, self.head)
                    failing = False
                    self.read_at = time.monotonic()
                except Exception:
                    if not failing:  # once per outage, not four times a second
                        logger.exception("dispatch feed: reading the event log failed")
                    failing = True
                    events, end = [], self.head or ""
                if end and end != self.head:
                    if self.head is not None:
                        self.batches[self.head] = Batch(self.head, end, tuple(events))
                        while len(self.batches) > KEPT_BATCHES:
                            self.batches.popitem(last=False)
                    self.head = end
                    async with self.changed:
                        self.changed.notify_all()
                await asyncio.sleep(POLL_SECONDS)
        finally:
            # Nobody listens: forget the position, so a later start does not replay a backlog.
            self.task, self.head = None, None
            self.batches.clear()
            thread.submit(connection.close)
            thread.shutdown(wait=False)

    def join(self) -> None:
        self.listeners += 1
        if self.task is None:
            # A clean context: the task must not inherit the first request's thread context,
            # which ends with that request.
            loop = asyncio.get_running_loop()
            self.task = loop.create_task(self.run(), context=contextvars.Context())

    def leave(self) -> None:
        self.listeners -= 1

    async def wait(self, timeout: float) -> None:
        async with self.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout)


_pollers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Poller] = weakref.WeakKeyDictionary()


def poller() -> Poller:
    loop = asyncio.get_running_loop()
    if loop not in _pollers:
        _pollers[loop] = Poller()
    return _pollers[loop]


async def stream_async(listener: Listener) -> AsyncIterator[str]:
    hub = poller()
    hub.join()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        chunks, _ = await sync_to_async(listener.read_database)()
        if chunks:
            yield "".join(chunks)
        chores = Chores()
        # The poller's head at which our own read last found nothing newer: the poller lags
        # behind us, so wait for it instead of reading again.
        stale_head: str | None = None
        while True:
            if chain := hub.chain_from(listener.cursor):
                chunks = [c for b in chain for c in listener.take(list(b.events), b.end)]
            elif hub.head not in (None, listener.cursor, stale_head):
                # Our cursor is not where the poller's kept batches start: read ourselves.
                chunks, moved = await sync_to_async(listener.read_database)()
                stale_head = None if moved else hub.head
            elif not hub.fresh:
                # The shared poller is not reading (starting, or the database failed it):
                # poll on our own meanwhile, so no console goes quiet.
                chunks, _ = await sync_to_async(listener.read_database)()
                await asyncio.sleep(POLL_SECONDS)
            else:
                await hub.wait(min(HEARTBEAT_SECONDS, SESSION_CHECK_SECONDS))
                chunks = []
            if chunks:
                yield "".join(chunks)
            check, beat = chores.due(sent=bool(chunks))
            if check and not await sync_to_async(listener.session_alive)():
                yield SIGNED_OUT
                return
            if beat:
                yield HEARTBEAT
    finally:
        hub.leave()


def stream_sync(listener: Listener) -> Iterator[str]:
    """The same feed for a WSGI server: this thread polls the log itself."""
    yield f"retry: {RETRY_MS}\n\n"
    chores = Chores()
    while True:
        chunks, _ = listener.read_database()
        if chunks:
            yield "".join(chunks)
        check, beat = chores.due(sent=bool(chunks))
        if check and not listener.session_alive():
            yield SIGNED_OUT
            return
        if beat:
            yield HEARTBEAT
        time.sleep(POLL_SECONDS)


def start_cursor(request: HttpRequest) -> tuple[str, bool]:
    """Where this connection starts: the browser's Last-Event-ID on a reconnect, else the
    cursor the console was rendered at, else now. Returns (cursor, was it one we issued)."""
    cursor = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    if not cursor:
        return eventlog_feed.head_cursor(), True
    try:
        eventlog_feed.read_after(cursor, limit=1)
    except eventlog_feed.BadCursor:
        return eventlog_feed.head_cursor(), False
    return cursor, True


def open_listener(request: HttpRequest, user: User) -> tuple[Listener, bool]:
    require(user, Action.INCIDENT_VIEW, request=request)
    cursor, known = start_cursor(request)
    listener = Listener(
        cursor=cursor,
        scope=scope_of(user),
        user_id=user.pk,
        session_key=request.session.session_key,
    )
    return listener, known


def _response(content: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # a proxy must pass each event on at once
    return response


async def feed(request: HttpRequest) -> StreamingHttpResponse:
    """GET /staff/dispatch/feed: the live event stream of the consoles the user may see."""
    user = await request.auser()
    if not isinstance(user, User) or not user.is_authenticated:
        # An EventSource cannot follow a redirect to the sign-in page; tell the console.
        return _response(iter([f"retry: {RETRY_MS}\n\n", SIGNED_OUT]))
    listener, known = await sync_to_async(open_listener)(request, user)
    prefix = [] if known else [RESYNC]
    if isinstance(request, ASGIRequest):

        async def content() -> AsyncIterator[str]:
            for chunk in prefix:
                yield chunk
            async for chunk in stream_async(listener):
                yield chunk

        return _response(content())

    def content_sync() -> Iterator[str]:
        yield from prefix
        yield from stream_sync(listener)

    return _response(content_sync())
