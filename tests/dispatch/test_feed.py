"""The dispatch floor's live feed (Server-Sent Events): resume after Last-Event-ID with nothing
missed and nothing repeated, scoped to what the console may see, passive for the idle clock,
and a clear `signed-out` when the session has ended. (Transactional tests: a stream's end
closes the request's database connection as a server would, which PostgreSQL must not do
inside a test's own transaction.) Read at the HTTP level, under ASGI (the
uvicorn path, with its shared poller) and under WSGI (the development server's)."""

import asyncio
import json
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import AsyncClient

from despp.core import eventlog, middleware
from despp.core.eventlog import feed as eventlog_feed
from despp.dispatch import feed
from despp.dispatch.events import Kind

FEED = "/staff/dispatch/feed"


@pytest.fixture(autouse=True)
def quick_feed(monkeypatch: pytest.MonkeyPatch) -> None:
    # A heartbeat every few ticks, so a reader never blocks long waiting for a chunk.
    monkeypatch.setattr(feed, "HEARTBEAT_SECONDS", 0.3)


def incident_event(n: int, psap: str = "psap-csp-eastern") -> Any:
    return eventlog.append(
        f"incident:{n}", Kind.INCIDENT_NOTE, {"incident": n, "psap": psap, "text": f"note {n}"}
    )


def parse(text: str) -> list[dict[str, Any]]:
    """SSE text -> messages ({"id", "event", "data"}), comments and retry lines dropped."""
    messages = []
    for block in text.split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name in ("id", "event", "data"):
                fields[name] = value
        if "data" in fields or "event" in fields:
            if "data" in fields:
                fields["data"] = json.loads(fields["data"])
            messages.append(fields)
    return messages


def read_sync(client: Any, *, until: int, seconds: float = 3.0, **headers: str) -> tuple:
    """Open the feed (WSGI path) and read until `until` messages came or time ran out."""
    response = client.get(FEED, **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    text, deadline = "", time.monotonic() + seconds
    chunks = iter(response.streaming_content)
    while len(parse(text)) < until and time.monotonic() < deadline:
        text += next(chunks).decode()
    close_keeping_the_test_connection(response)
    return parse(text), text


def close_keeping_the_test_connection(response: Any) -> None:
    """Close a streamed response as the test client does once a stream ends: its
    request_finished signal must not close the test's own database connection (PostgreSQL
    would lose the test's transaction)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


async def read_async(
    client: AsyncClient,
    *,
    until: int,
    seconds: float = 3.0,
    headers: dict[str, str] | None = None,
    during: Any = None,
) -> tuple:
    """Open the feed (ASGI path) and read until `until` messages came or time ran out;
    `during` (sync) runs once the stream is open, e.g. to append events while connected."""
    response = await client.get(FEED, headers=headers or {})
    assert response.status_code == 200
    chunks = response.streaming_content.__aiter__()
    text, deadline = "", time.monotonic() + seconds
    first = True
    while len(parse(text)) < until and time.monotonic() < deadline:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), deadline - time.monotonic())
        except TimeoutError:
            break
        text += chunk.decode() if isinstance(chunk, bytes) else chunk
        if first and during is not None:
            first = False
            await asyncio.to_thread(during)
    await chunks.aclose()
    return parse(text), text


@pytest.fixture
def asgi_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if the WSGI loop serves what should take the ASGI path."""

    def refuse(listener: Any) -> Any:
        raise AssertionError("the WSGI feed served an ASGI request")

    monkeypatch.setattr(feed, "stream_sync", refuse)


def asgi_client(signed_in: Any) -> AsyncClient:
    client = AsyncClient()
    client.cookies = signed_in.cookies
    return client


@pytest.mark.django_db(transaction=True)
def test_a_console_resuming_after_its_last_event_gets_every_later_event_once_in_order(
    dispatcher, sign_in
):
    incident_event(1)
    cursor = eventlog_feed.head_cursor()
    later = [incident_event(n) for n in (2, 3, 4)]
    messages, _ = read_sync(sign_in(dispatcher), until=3, HTTP_LAST_EVENT_ID=cursor)
    assert [m["data"]["incident"] for m in messages] == [2, 3, 4]
    assert [m["id"] for m in messages] == [eventlog_feed.cursor_of(e) for e in later]
    # Resuming from the second one: only what came after it, nothing repeated.
    again, _ = read_sync(sign_in(dispatcher), until=2, HTTP_LAST_EVENT_ID=messages[1]["id"])
    assert [m["data"]["incident"] for m in again] == [4]


@pytest.mark.django_db(transaction=True)
def test_the_query_parameter_cursor_is_used_when_the_browser_sends_no_last_event_id(
    dispatcher, sign_in
):
    cursor = eventlog_feed.head_cursor()
    incident_event(7)
    messages, _ = read_sync(sign_in(dispatcher), until=1, data={"last_event_id": cursor})
    assert [m["data"]["incident"] for m in messages] == [7]


@pytest.mark.django_db(transaction=True)
def test_a_message_says_only_which_panel_to_refresh_never_the_event_data(dispatcher, sign_in):
    cursor = eventlog_feed.head_cursor()
    incident_event(5)
    (message,), _ = read_sync(sign_in(dispatcher), until=1, HTTP_LAST_EVENT_ID=cursor)
    assert message["data"] == {
        "kind": "incident.note",
        "stream": "incident:5",
        "incident": 5,
        "unit": None,
        "call": None,
    }


@pytest.mark.django_db(transaction=True)
def test_a_console_receives_only_its_psaps_events_and_every_emergency(
    dispatcher, dispatcher_w, sign_in
):
    cursor = eventlog_feed.head_cursor()
    incident_event(1, psap="psap-csp-eastern")
    incident_event(2, psap="psap-csp-western")
    eventlog.append("unit:9", Kind.UNIT_EMERGENCY, {"unit": 9, "agency": "somewhere-else"})
    eventlog.append("unit:8", Kind.UNIT_POSITION, {"unit": 8, "agency": "somewhere-else"})
    eventlog.append("item:3", "custody.transfer", {"psap": "psap-csp-eastern"})
    west, west_text = read_sync(sign_in(dispatcher_w), until=2, HTTP_LAST_EVENT_ID=cursor)
    assert [(m["data"]["kind"], m["data"]["incident"]) for m in west] == [
        ("incident.note", 2),
        ("unit.emergency", None),
    ]
    east, _ = read_sync(sign_in(dispatcher), until=2, HTTP_LAST_EVENT_ID=cursor)
    assert [m["data"]["stream"] for m in east] == ["incident:1", "unit:9"]
    # The id-only line moves the browser's Last-Event-ID past what it may not see.
    assert f"id: {eventlog_feed.head_cursor()}\n\n" in west_text


@pytest.mark.django_db(transaction=True)
def test_a_cursor_the_log_never_issued_starts_now_and_tells_the_console_to_reload(
    dispatcher, sign_in
):
    messages, _ = read_sync(sign_in(dispatcher), until=1, HTTP_LAST_EVENT_ID="not-a-cursor")
    assert messages[0]["event"] == "resync"


@pytest.mark.django_db(transaction=True)
def test_without_a_session_the_feed_says_signed_out_instead_of_redirecting(client):
    messages, _ = read_sync(client, until=1)
    assert messages == [{"event": "signed-out", "data": {}}]


@pytest.mark.django_db(transaction=True)
def test_a_role_without_the_console_is_refused_and_the_refusal_audited(norole, sign_in):
    from despp.core.models import AccessAudit, AuditAction

    response = sign_in(norole).get(FEED)
    assert response.status_code == 403
    assert AccessAudit.objects.filter(action=AuditAction.DENIED, username="norole").exists()


@pytest.mark.django_db(transaction=True)
def test_listening_to_the_feed_does_not_keep_the_session_alive(dispatcher, sign_in, monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(middleware, "_now", lambda: now[0])
    client = sign_in(dispatcher)
    client.get("/staff/")  # starts the idle clock
    started = client.session[middleware.LAST_ACTIVITY_KEY]
    now[0] += 60
    read_sync(client, until=0, HTTP_ACCEPT="text/event-stream")
    assert client.session[middleware.LAST_ACTIVITY_KEY] == started


@pytest.mark.django_db(transaction=True)
def test_the_feed_ends_with_signed_out_once_the_session_has_gone_idle(
    dispatcher, sign_in, monkeypatch
):
    monkeypatch.setattr(feed, "SESSION_CHECK_SECONDS", 0.2)
    client = sign_in(dispatcher)
    client.get("/staff/")
    response = client.get(FEED)
    chunks = iter(response.streaming_content)
    next(chunks)  # connected
    # 31 minutes pass without the person doing anything.
    later = time.time() + 31 * 60
    monkeypatch.setattr(middleware, "_now", lambda: later)
    text, deadline = "", time.monotonic() + 3
    while "signed-out" not in text and time.monotonic() < deadline:
        text += next(chunks).decode()
    assert "event: signed-out" in text
    with pytest.raises(StopIteration):
        next(chunks)


# --- under ASGI (uvicorn): the shared poller ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_under_asgi_a_resumed_feed_misses_nothing_and_live_events_arrive_within_a_second(
    dispatcher, sign_in, asgi_only
):
    signed_in = sign_in(dispatcher)
    incident_event(1)
    cursor = eventlog_feed.head_cursor()
    backlog = [incident_event(n) for n in (2, 3)]
    appended_at: list[float] = []

    def append_live() -> None:
        time.sleep(0.6)  # the shared poller is running by now
        appended_at.append(time.monotonic())
        incident_event(4)
        incident_event(5)

    async def scenario() -> tuple:
        client = asgi_client(signed_in)
        messages, _ = await read_async(
            client, until=4, headers={"Last-Event-ID": cursor}, during=append_live
        )
        return messages, time.monotonic()

    messages, done_at = async_to_sync(scenario)()
    assert [m["data"]["incident"] for m in messages] == [2, 3, 4, 5]
    assert messages[0]["id"] == eventlog_feed.cursor_of(backlog[0])
    assert done_at - appended_at[0] < 1.0

    # Reconnecting with the last id received: nothing repeated, the next event arrives.
    incident_event(6)

    async def resume() -> tuple:
        return await read_async(
            asgi_client(signed_in), until=1, headers={"Last-Event-ID": messages[-1]["id"]}
        )

    again, _ = async_to_sync(resume)()
    assert [m["data"]["incident"] for m in again] == [6]


@pytest.mark.django_db(transaction=True)
def test_under_asgi_two_consoles_share_one_poller_and_both_see_each_event(
    dispatcher, sign_in, asgi_only, monkeypatch
):
    reads: list[str] = []
    original = feed._read_for_poller

    def counted(head: Any) -> Any:
        reads.append(str(head))
        return original(head)

    monkeypatch.setattr(feed, "_read_for_poller", counted)
    signed_in = sign_in(dispatcher)
    cursor = eventlog_feed.head_cursor()

    async def two_consoles() -> list:
        first = read_async(
            asgi_client(signed_in), until=2, headers={"Last-Event-ID": cursor},
            during=lambda: (time.sleep(0.5), incident_event(11), incident_event(12)),
        )  # fmt: skip
        second = read_async(asgi_client(signed_in), until=2, headers={"Last-Event-ID": cursor})
        return await asyncio.gather(first, second)

    (one, _), (two, _) = async_to_sync(two_consoles)()
    assert [m["data"]["incident"] for m in one] == [11, 12]
    assert [m["data"]["incident"] for m in two] == [11, 12]
    # One poller read the log for both (about four reads a second, not eight).
    assert 0 < len(reads) <= 4 * 3
