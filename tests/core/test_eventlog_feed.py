"""The event log read as a live feed: resume from a cursor, in order, nothing missed."""

import random
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from despp.core import eventlog
from despp.core.eventlog import feed
from despp.core.models import Event, User

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


# --- concurrent appends on PostgreSQL: commits out of seq order, nothing skipped -------------

ON_POSTGRESQL = connection.vendor == "postgresql"
needs_postgresql = pytest.mark.skipif(
    not ON_POSTGRESQL, reason="needs concurrent writers; SQLite serialises them anyway"
)


class _Writer(threading.Thread):
    """Runs `body` in a transaction of its own connection, holding it open until released."""

    def __init__(self, body: Callable[[], object]) -> None:
        super().__init__()
        self.body = body
        self.written = threading.Event()
        self.release = threading.Event()
        self.rollback = False
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.body()
                self.written.set()
                self.release.wait(10)
                if self.rollback:
                    transaction.set_rollback(True)
        except BaseException as exc:  # reported by finish()
            self.failure = exc
        finally:
            self.written.set()
            connection.close()

    def finish(self) -> None:
        self.release.set()
        self.join(10)
        assert self.failure is None


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_feed_waits_for_an_earlier_seq_still_in_flight_instead_of_skipping_it():
    start = feed.head_cursor()
    slow = _Writer(lambda: eventlog.append("incident:1", "incident.created", {"n": 1}))
    slow.start()
    slow.written.wait(10)
    with transaction.atomic():
        fast = eventlog.append("incident:2", "incident.created", {"n": 2})
    assert not Event.objects.filter(stream="incident:1").exists()  # not committed yet
    # The later seq has committed, the earlier one has not: nothing may be delivered yet.
    assert feed.read_after(start) == ([], start)
    slow.finish()
    events, cursor = feed.read_after(start)
    assert [e.data["n"] for e in events] == [1, 2]
    assert events[0].seq < fast.seq == events[1].seq
    assert cursor == feed.cursor_of(fast)


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_feed_moves_on_past_an_append_that_was_rolled_back():
    start = feed.head_cursor()
    doomed = _Writer(lambda: eventlog.append("incident:3", "incident.created", {"n": 0}))
    doomed.rollback = True
    doomed.start()
    doomed.written.wait(10)
    with transaction.atomic():
        eventlog.append("incident:4", "incident.created", {"n": 4})
    assert feed.read_after(start)[0] == []
    doomed.finish()
    assert [e.data["n"] for e in feed.read_after(start)[0]] == [4]


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_appends_nothing_never_holds_the_feed_back():
    start = feed.head_cursor()
    busy = _Writer(lambda: User.objects.create_user("long-import", password="x" * 20))
    busy.start()
    busy.written.wait(10)
    with transaction.atomic():
        eventlog.append("incident:5", "incident.created", {"n": 5})
    try:
        assert [e.data["n"] for e in feed.read_after(start)[0]] == [5]
    finally:
        busy.finish()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_feed_polling_through_concurrent_appends_gets_every_event_once_in_seq_order():
    rng = random.Random(20261127)
    plans = [[rng.random() / 200 for _ in range(25)] for _ in range(4)]  # hold 0-5 ms
    start = feed.head_cursor()
    writers_done = threading.Event()
    failures: list[BaseException] = []

    def writer(number: int, holds: list[float]) -> None:
        try:
            for n, hold in enumerate(holds):
                with transaction.atomic():
                    # Two streams per transaction, one shared by all writers (queues on it).
                    eventlog.append(f"unit:{number}", "unit.position", {"w": number, "n": n})
                    if n % 5 == 0:
                        eventlog.append("incident:9", "incident.note", {"w": number, "n": n})
                    time.sleep(hold)  # commit late, after others took higher seqs
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    delivered: list[Event] = []

    def reader() -> None:
        cursor = start
        try:
            while True:
                finished = writers_done.is_set()
                events, cursor = feed.read_after(cursor, limit=7)
                delivered.extend(events)
                if finished and not events:
                    return
                time.sleep(0.0005)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i, plan)) for i, plan in enumerate(plans)]
    follower = threading.Thread(target=reader)
    follower.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    writers_done.set()
    follower.join(60)

    assert failures == []
    committed = list(
        Event.objects.filter(seq__gt=int(start)).order_by("seq").values_list("seq", flat=True)
    )
    assert len(committed) == 4 * 25 + 4 * 5
    assert [event.seq for event in delivered] == committed
    assert eventlog.verify_streams().ok


@needs_postgresql
def test_a_transaction_holds_one_feed_lock_however_many_events_it_appends():
    for n in range(200):
        eventlog.append(f"item:{n}", "custody.transfer", {"n": n})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
            " AND pid = pg_backend_pid()",
            [feed.LOCK_NAMESPACE],
        )
        assert cursor.fetchone()[0] == 1
