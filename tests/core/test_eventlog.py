"""The hash-chained event log: appends chain, tampering is caught, the tables refuse changes."""

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, models, transaction
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from despp.core import appendonly, eventlog
from despp.core.eventlog import verify
from despp.core.management.commands.verify_log import Command as VerifyLog
from despp.core.models import AccessAudit, AuditAction, AuditOutcome, Event, User
from despp.core.models.appendonly import AppendOnlyError

pytestmark = pytest.mark.django_db
ON_POSTGRESQL = connection.vendor == "postgresql"


def _verify_log(*args: str) -> str:
    out = StringIO()
    call_command("verify_log", *args, stdout=out)
    return out.getvalue()


def _verify_log_failure(*args: str) -> CommandError:
    with pytest.raises(CommandError) as failure:
        _verify_log(*args)
    return failure.value


@contextmanager
def protection_lifted() -> Iterator[None]:
    """What a database administrator can do behind the application's back: lift the
    append-only triggers, act, and put them back so the tampering leaves no visible trace."""
    with connection.cursor() as cursor:
        if ON_POSTGRESQL:
            # The test's inserts share this transaction; settle their deferred FK checks first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_event DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER core_event_append_only_update")
            cursor.execute("DROP TRIGGER core_event_append_only_delete")
    yield
    with connection.cursor() as cursor:
        if ON_POSTGRESQL:
            cursor.execute("ALTER TABLE core_event ENABLE TRIGGER USER")
        else:
            appendonly.install(connection)
    assert appendonly.unprotected(connection) == {}


def _raw(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _custody_chain(stream: str = "item:9", length: int = 4) -> list[Event]:
    return [
        eventlog.append(stream, "custody.transfer", {"to": f"locker-{n}", "n": n})
        for n in range(1, length + 1)
    ]


# --- appending -------------------------------------------------------------------------------


def test_append_chains_each_event_to_the_previous_one_of_its_stream() -> None:
    officer = User.objects.create_user("trooper7", password="x" * 20)
    first = eventlog.append("incident:42", "incident.created", {"nature": "MVA"}, actor=officer)
    other = eventlog.append("incident:43", "incident.created", {"nature": "fire"})
    second = eventlog.append("incident:42", "unit.assigned", {"unit": "A12"}, actor=officer)

    assert (first.position, first.prev_hash) == (1, eventlog.GENESIS_HASH)
    assert (other.position, other.prev_hash) == (1, eventlog.GENESIS_HASH)
    assert (second.position, second.prev_hash) == (2, first.hash)
    assert first.seq < other.seq < second.seq
    assert second.actor_name == "trooper7"
    stored = Event.objects.get(seq=second.seq)
    assert stored.hash == eventlog.event_hash(
        prev_hash=first.hash,
        stream="incident:42",
        position=2,
        at=stored.at,
        actor_id=officer.pk,
        actor_name="trooper7",
        kind="unit.assigned",
        data={"unit": "A12"},
    )
    assert eventlog.verify_streams() == eventlog.Verification(events=3, streams=2, broken=[])


def test_the_hash_is_exactly_the_documented_one_so_stored_chains_stay_verifiable() -> None:
    # Recomputed by hand from the package docstring: changing the format would orphan every
    # chain already stored, so this test pins it.
    officer = User.objects.create_user("trooper7", password="x" * 20)
    event = eventlog.append(
        "item:9", "custody.transfer", {"to": "vault", "seal": "S-1"}, actor=officer
    )
    stamp = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = (
        f'["{"0" * 64}","item:9",1,"{stamp}",{officer.pk},"trooper7","custody.transfer",'
        '{"seal":"S-1","to":"vault"}]'
    )
    assert event.hash == hashlib.sha256(body.encode()).hexdigest()


def test_append_retries_when_another_writer_takes_the_position_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    eventlog.append("item:9", "evidence.received", {"by": "intake"})
    real_head = eventlog._head
    raced: list[Event] = []
    rival_started = threading.Event()

    def head_then_rival_commits(stream: str) -> tuple[int, str]:
        head = real_head(stream)
        if not rival_started.is_set():  # between our read and our insert, a rival appends
            rival_started.set()
            raced.append(eventlog.append(stream, "custody.transfer", {"to": "analyst"}))
        return head

    monkeypatch.setattr(eventlog, "_head", head_then_rival_commits)
    ours = eventlog.append("item:9", "custody.transfer", {"to": "vault"})

    rival = raced[0]
    assert (rival.position, ours.position) == (2, 3)
    assert ours.prev_hash == rival.hash
    assert [e.kind for e in eventlog.stream_events("item:9")] == [
        "evidence.received",
        "custody.transfer",
        "custody.transfer",
    ]
    assert eventlog.verify_streams().ok


def test_append_does_not_retry_an_integrity_error_that_is_not_a_lost_race(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[Event] = []

    def failing_insert(event: Event) -> int | None:
        attempts.append(event)
        raise IntegrityError("some other constraint")

    monkeypatch.setattr(eventlog, "_insert", failing_insert)
    with pytest.raises(IntegrityError, match="some other constraint"):
        eventlog.append("item:9", "custody.transfer", {})
    assert len(attempts) == 1


@pytest.mark.parametrize(
    ("stream", "kind", "data", "complaint"),
    [
        ("", "created", {}, "stream must be 1 to 80"),
        ("x" * 81, "created", {}, "stream must be 1 to 80"),
        ("incident:1", "", {}, "kind must be 1 to 60"),
        ("incident:1", "created", {"note": "nul\x00byte"}, "NUL"),
        ("incident:1", "created", {"bad\x00key": 1}, "NUL"),
        ("incident:1", "created", {"note": "\ud800"}, "not valid Unicode"),
        ("incident:1", "created", {"speed": float("nan")}, "not JSON-serialisable"),
        ("incident:1", "created", {"when": object()}, "not JSON-serialisable"),
    ],
)
def test_append_refuses_what_it_cannot_store_faithfully_and_writes_nothing(
    stream: str, kind: str, data: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(eventlog.EventDataError, match=complaint):
        eventlog.append(stream, kind, data)
    assert not Event.objects.exists()


def test_floats_that_postgresql_keeps_as_integers_are_stored_as_integers_and_verify() -> None:
    event = eventlog.append(
        "alert:3", "cap.issued", {"big": 1e16, "huge": 1.2345e30, "whole": 2.0, "zero": -0.0}
    )
    stored = Event.objects.get(seq=event.seq)
    assert stored.data == {
        "big": 10**16,
        "huge": 1_234_500_000_000_000_000_000_000_000_000,
        "whole": 2,
        "zero": 0,
    }
    assert all(isinstance(value, int) for value in stored.data.values())
    assert eventlog.verify_streams().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="needs concurrent connections; SQLite's test database serialises them anyway",
)
def test_concurrent_writers_on_postgresql_keep_every_event_and_seq_follows_commit_order() -> None:
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            barrier.wait()
            for n in range(25):
                with transaction.atomic():
                    eventlog.append("incident:500", "narrative", {"by": name, "n": n})
        except BaseException as exc:  # reported to the main thread below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    positions = list(
        Event.objects.filter(stream="incident:500")
        .order_by("seq")
        .values_list("position", flat=True)
    )
    assert positions == list(range(1, 51))
    assert eventlog.verify_streams().ok


# --- verifying -------------------------------------------------------------------------------


def test_verify_log_reports_every_event_and_stream_and_exits_zero() -> None:
    _custody_chain("item:1", 3)
    _custody_chain("item:2", 2)

    assert _verify_log().strip() == "5 events in 2 streams verified"
    entry = AccessAudit.objects.get(object_type="event_log")
    assert (entry.action, entry.outcome, entry.object_id) == (
        AuditAction.READ,
        AuditOutcome.SUCCESS,
        "*",
    )
    assert entry.username.startswith("cli")


def test_verify_log_names_the_row_a_database_administrator_edited() -> None:
    chain = _custody_chain("item:9", 4)
    _custody_chain("item:10", 2)
    edited = chain[1]

    with protection_lifted():
        if ON_POSTGRESQL:
            _raw(
                "UPDATE core_event SET data = %s::jsonb WHERE seq = %s",
                ['{"to": "my car"}', edited.seq],
            )
        else:
            _raw("UPDATE core_event SET data = %s WHERE seq = %s", ['{"to": "my car"}', edited.seq])

    failure = _verify_log_failure()
    assert failure.returncode == 1
    message = str(failure)
    assert (
        f"BROKEN stream item:9 event #2 (seq {edited.seq}): "
        "hash does not match the event's contents (the event was altered)"
    ) in message
    assert "item:10" not in message  # the other chain still holds
    assert "6 events in 2 streams verified: 1 broken" in message
    entry = AccessAudit.objects.get(object_type="event_log")
    assert entry.outcome == AuditOutcome.FAILURE
    assert entry.detail["broken"] == [
        link.removeprefix("BROKEN ") for link in message.splitlines()[:1]
    ]


def test_verify_log_exits_non_zero_from_the_command_line_when_a_chain_is_broken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    chain = _custody_chain("item:9", 2)
    with protection_lifted():
        _raw("UPDATE core_event SET kind = %s WHERE seq = %s", ["custody.released", chain[0].seq])

    with pytest.raises(SystemExit) as exit_:
        VerifyLog().run_from_argv(["despp", "verify_log"])
    assert exit_.value.code == 1
    assert f"stream item:9 event #1 (seq {chain[0].seq})" in capsys.readouterr().err


def test_verify_log_catches_a_deleted_event_as_a_gap() -> None:
    chain = _custody_chain("item:9", 4)
    with protection_lifted():
        _raw("DELETE FROM core_event WHERE seq = %s", [chain[1].seq])

    message = str(_verify_log_failure())
    assert (
        f"stream item:9 event #3 (seq {chain[2].seq}): expected event #2 next, found #3"
    ) in message


def test_verify_log_catches_two_events_swapped_in_order() -> None:
    chain = _custody_chain("item:9", 4)
    second, third = chain[1], chain[2]
    with protection_lifted():
        # Swap positions 2 and 3 (through a free position, for the unique constraint).
        _raw("UPDATE core_event SET position = 99 WHERE seq = %s", [second.seq])
        _raw("UPDATE core_event SET position = 2 WHERE seq = %s", [third.seq])
        _raw("UPDATE core_event SET position = 3 WHERE seq = %s", [second.seq])

    message = str(_verify_log_failure())
    assert f"stream item:9 event #3 (seq {second.seq}): expected event #2 next" in message


def test_verify_log_catches_a_rewritten_prev_hash() -> None:
    chain = _custody_chain("item:9", 3)
    with protection_lifted():
        _raw("UPDATE core_event SET prev_hash = %s WHERE seq = %s", ["f" * 64, chain[2].seq])

    message = str(_verify_log_failure())
    assert f"event #3 (seq {chain[2].seq}): prev_hash does not match" in message


def test_verify_log_for_one_stream_checks_only_that_stream() -> None:
    broken = _custody_chain("item:9", 2)
    _custody_chain("item:10", 3)
    with protection_lifted():
        _raw("UPDATE core_event SET kind = %s WHERE seq = %s", ["forged", broken[0].seq])

    assert _verify_log("--stream", "item:10").strip() == "3 events in 1 streams verified"
    assert "item:9" in str(_verify_log_failure("--stream", "item:9", "--stream", "item:10"))


def test_verify_log_reports_a_missing_trigger_even_when_every_chain_holds() -> None:
    _custody_chain("item:9", 2)
    with connection.cursor() as cursor:
        if ON_POSTGRESQL:
            cursor.execute(
                "ALTER TABLE core_accessaudit DISABLE TRIGGER core_accessaudit_append_only"
            )
        else:
            cursor.execute("DROP TRIGGER core_accessaudit_append_only_delete")

    message = str(_verify_log_failure())
    assert "UNPROTECTED table core_accessaudit" in message
    assert "2 events in 1 streams verified: 0 broken" in message


def _tangle_of_streams() -> dict[str, list[Event]]:
    """Five interleaved custody chains, as a busy laboratory produces them."""
    chains: dict[str, list[Event]] = {f"item:{n}": [] for n in range(5)}
    for step in range(6):
        for stream, events in chains.items():
            events.append(eventlog.append(stream, "custody.transfer", {"step": step}))
    return chains


def _tamper_three_ways(chains: dict[str, list[Event]]) -> None:
    with protection_lifted():
        _raw("UPDATE core_event SET kind = %s WHERE seq = %s", ["forged", chains["item:1"][0].seq])
        _raw("DELETE FROM core_event WHERE seq = %s", [chains["item:2"][3].seq])
        _raw(
            "UPDATE core_event SET prev_hash = %s WHERE seq = %s",
            ["0" * 64, chains["item:4"][5].seq],
        )


@pytest.mark.parametrize("workers", [2, 3, 7, 40])
def test_verifying_in_ranges_of_seq_finds_exactly_what_one_pass_finds(workers: int) -> None:
    chains = _tangle_of_streams()
    _tamper_three_ways(chains)

    in_one_pass = eventlog.verify_streams(workers=1)
    assert in_one_pass.events == 29
    assert in_one_pass.streams == 5
    assert [(link.stream, link.position) for link in in_one_pass.broken] == [
        ("item:1", 1),
        ("item:2", 5),
        ("item:4", 6),
    ]
    assert eventlog.verify_streams(workers=workers) == in_one_pass


@pytest.mark.django_db(transaction=True)
def test_verifying_in_worker_processes_reports_the_breaks_and_the_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chains = _tangle_of_streams()
    _tamper_three_ways(chains)
    in_one_pass = eventlog.verify_streams(workers=1)
    forked: list[int] = []
    real_run = verify._run_in_processes
    monkeypatch.setattr(
        verify,
        "_run_in_processes",
        lambda ranges, *rest: forked.append(len(ranges)) or real_run(ranges, *rest),
    )
    seen: list[int] = []

    assert eventlog.verify_streams(workers=2, progress=seen.append) == in_one_pass
    assert seen[-1] == 29
    # Worker processes need their own connections: PostgreSQL yes, in-memory SQLite no.
    assert forked == ([2] if ON_POSTGRESQL else [])


# --- append-only protection ------------------------------------------------------------------


def test_every_append_only_table_has_its_triggers_after_all_migrations() -> None:
    assert appendonly.unprotected(connection) == {}


@pytest.mark.parametrize("table", appendonly.PROTECTED_TABLES)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id_col = id_col", "DELETE FROM {table}"])
def test_the_database_refuses_raw_updates_and_deletes_of_append_only_rows(
    table: str, statement: str
) -> None:
    eventlog.append("incident:1", "incident.created", {})
    AccessAudit.objects.create(at=timezone.now(), action=AuditAction.READ)
    id_col = "seq" if table == "core_event" else "id"
    sql = statement.format(table=table).replace("id_col", id_col)

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _raw(sql, [])
    assert Event.objects.count() == 1
    assert AccessAudit.objects.count() == 1


@pytest.mark.parametrize("model", [Event, AccessAudit])
def test_the_database_refuses_an_orm_update_that_bypasses_the_model_guard(
    model: type[models.Model],
) -> None:
    eventlog.append("incident:1", "incident.created", {})
    AccessAudit.objects.create(at=timezone.now(), action=AuditAction.READ)
    plain = models.QuerySet(model=model)

    with pytest.raises(IntegrityError, match="append-only: UPDATE refused"), transaction.atomic():
        plain.update(at=timezone.now())
    with pytest.raises(IntegrityError, match="append-only: DELETE refused"), transaction.atomic():
        plain.delete()


@pytest.mark.skipif(not ON_POSTGRESQL, reason="TRUNCATE is PostgreSQL's")
def test_postgresql_refuses_to_truncate_the_event_log() -> None:
    # CASCADE: other apps' tables point at events (forensics projections), and without it the
    # foreign keys would refuse the TRUNCATE before the trigger is asked.
    with pytest.raises(IntegrityError, match="TRUNCATE refused"), transaction.atomic():
        _raw("TRUNCATE core_event CASCADE", [])


def test_the_models_refuse_to_change_or_remove_a_stored_row() -> None:
    event = eventlog.append("incident:1", "incident.created", {"nature": "MVA"})
    entry = AccessAudit.objects.create(at=event.at, action=AuditAction.READ)

    for row in (event, entry):
        with pytest.raises(AppendOnlyError, match="UPDATE refused"):
            row.save()
        with pytest.raises(AppendOnlyError, match="DELETE refused"):
            row.delete()
    with pytest.raises(AppendOnlyError, match="UPDATE refused"):
        Event.objects.filter(seq=event.seq).update(kind="forged")
    with pytest.raises(AppendOnlyError, match="DELETE refused"):
        AccessAudit.objects.all().delete()
    assert Event.objects.get(seq=event.seq).kind == "incident.created"
    assert AccessAudit.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_flushing_the_whole_database_empties_the_log_and_restores_the_protection() -> None:
    _custody_chain("item:9", 2)
    call_command("flush", interactive=False, verbosity=0)
    assert not Event.objects.exists()
    assert appendonly.unprotected(connection) == {}


def test_an_interactive_flush_that_is_not_confirmed_leaves_everything_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _custody_chain("item:9", 2)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("flush", interactive=True, verbosity=0)
    assert Event.objects.count() == 2
    assert appendonly.unprotected(connection) == {}


def test_flush_is_refused_in_production_and_the_log_stays() -> None:
    _custody_chain("item:9", 2)
    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="refused"):
        call_command("flush", interactive=False, verbosity=0)
    assert Event.objects.count() == 2


# --- property: whatever is appended verifies ---------------------------------------------------

_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_appends = st.lists(
    st.tuples(
        st.sampled_from(["incident:1", "incident:2", "item:9", "alert:7"]),
        st.sampled_from(["created", "updated", "custody.transfer"]),
        st.dictionaries(_text, _json, max_size=5),
    ),
    min_size=1,
    max_size=15,
)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(appends=_appends, workers=st.integers(min_value=1, max_value=4))
def test_any_sequence_of_appends_across_streams_verifies(
    appends: list[tuple[str, str, dict[str, Any]]], workers: int
) -> None:
    with transaction.atomic():
        stored = [eventlog.append(stream, kind, data) for stream, kind, data in appends]
        result = eventlog.verify_streams(workers=workers)
        reread = {e.seq: e.data for e in Event.objects.all()}
        transaction.set_rollback(True)

    assert result == eventlog.Verification(
        events=len(appends), streams=len({stream for stream, _, _ in appends}), broken=[]
    )
    assert reread == {event.seq: event.data for event in stored}


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(appends=_appends, victim=st.integers(min_value=0), workers=st.integers(1, 4))
def test_altering_any_one_event_breaks_exactly_its_stream_at_that_event(
    appends: list[tuple[str, str, dict[str, Any]]], victim: int, workers: int
) -> None:
    with transaction.atomic():
        stored = [eventlog.append(stream, kind, data) for stream, kind, data in appends]
        altered = stored[victim % len(stored)]
        with protection_lifted():
            _raw(
                "UPDATE core_event SET kind = %s WHERE seq = %s", [altered.kind + "!", altered.seq]
            )
        result = eventlog.verify_streams(workers=workers)
        transaction.set_rollback(True)

    assert result.broken == [
        eventlog.BrokenLink(altered.stream, altered.position, altered.seq, verify._ALTERED)
    ]
