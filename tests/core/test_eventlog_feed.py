"""The event log read as a live feed: resume from a cursor, in order, nothing missed."""

import pytest

from despp.core import eventlog
from despp.core.eventlog import feed

pytestmark = pytest.mark.django_db


def test_feed_resumes_after_its_cursor_with_every_later_event_in_order():
    eventlog.append("incident:1", "incident.created", {"n": 1})
    start = feed.head_cursor()
    eventlog.append("incident:1", "unit.assigned", {"n": 2})
    eventlog.append("unit:7", "unit.position", {"n": 3})
    events, cursor = feed.read_after(start)
    assert [event.data["n"] for event in events] == [2, 3]
    assert feed.read_after(cursor) == ([], cursor)


def test_feed_filters_streams_but_still_moves_its_cursor_past_them():
    start = feed.head_cursor()
    eventlog.append("item:3", "custody.transfer", {})
    eventlog.append("incident:2", "incident.created", {})
    events, cursor = feed.read_after(start, stream_prefixes=("incident:",))
    assert [event.stream for event in events] == ["incident:2"]
    assert cursor == feed.cursor_of(eventlog.stream_events("incident:2")[-1])


def test_feed_pages_by_limit():
    start = feed.head_cursor()
    for n in range(5):
        eventlog.append("incident:3", "incident.note", {"n": n})
    first, cursor = feed.read_after(start, limit=2)
    rest, _ = feed.read_after(cursor, limit=10)
    assert [e.data["n"] for e in first + rest] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("cursor", ["abc", "-1", "", "1.5"])
def test_feed_refuses_a_cursor_it_never_issued(cursor):
    with pytest.raises(feed.BadCursor):
        feed.read_after(cursor)
