"""Event log: append rate and verification rate (events/s), on SQLite and PostgreSQL.

Target (for the forensics issue): 1,000,000 custody events verified in under 10 s. The chains
are built as a laboratory builds them: many item streams, each a few transfers long, appended
interleaved. Each database is a fresh, throw-away one (the log is append-only: a benchmark
must never write into a real one).

    python -m benchmarks eventlog          # 200,000 events
    DESPP_BENCH_EVENTS=1000000 python -m benchmarks eventlog
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

TARGET_EVENTS = 1_000_000
TARGET_SECONDS = 10.0
EVENTS = int(os.environ.get("DESPP_BENCH_EVENTS", "200000"))
PG_SERVER = os.environ.get("DESPP_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
EVENTS_PER_ITEM = 8  # received, sealed, transfers..., released: a typical item's custody
APPENDS_ONE_PER_COMMIT = 1_000
APPENDS_BATCHED = 5_000
REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    print(f"{EVENTS:,} custody events, {EVENTS // EVENTS_PER_ITEM:,} item streams")
    with tempfile.TemporaryDirectory(prefix="despp-bench-eventlog-") as var_dir:
        _run_child("SQLite", {"DESPP_VAR_DIR": var_dir})
    database = f"despp_bench_eventlog_{uuid.uuid4().hex[:8]}"
    if not _pg_admin(f"CREATE DATABASE {database}"):
        print("\nPostgreSQL: not reachable at", PG_SERVER, "- skipped")
        return
    try:
        with tempfile.TemporaryDirectory(prefix="despp-bench-eventlog-") as var_dir:
            _run_child(
                "PostgreSQL",
                {"DESPP_VAR_DIR": var_dir, "DATABASE_URL": f"{PG_SERVER}/{database}"},
            )
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {database}")


def _run_child(label: str, env: dict[str, str]) -> None:
    print(f"\n{label}", flush=True)
    child_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    # Production settings' speed: no per-query debug bookkeeping.
    child_env |= env | {"DJANGO_SETTINGS_MODULE": "despp.settings", "DESPP_DEBUG": "false"}
    subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_eventlog", "--child"],
        env=child_env,
        cwd=REPO,
        check=True,
    )


def _pg_admin(statement: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3) as pg:
            pg.execute(statement)  # type: ignore[arg-type]
    except psycopg.OperationalError:
        return False
    return True


def _child() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    appended = _measure_appends()
    _bulk_load(EVENTS - appended)
    _measure_verification()


def _custody(n: int) -> tuple[str, str, dict[str, object]]:
    item, step = divmod(n, EVENTS_PER_ITEM)
    kind = "custody.transfer"
    if step == 0:
        kind = "evidence.received"
    elif step == EVENTS_PER_ITEM - 1:
        kind = "evidence.released"
    data = {
        "item": item,
        "from": f"locker-{(item + step) % 97}",
        "to": f"analyst-{(item * 7 + step) % 41}",
        "reason": "analysis" if step % 2 else "storage",
        "seal_intact": True,
        "container": {"type": "bag", "seal": f"S-{item:08d}"},
    }
    return f"item:{item}", kind, data


def _measure_appends() -> int:
    from django.db import transaction

    from despp.core import eventlog

    started = time.perf_counter()
    for n in range(APPENDS_ONE_PER_COMMIT):
        eventlog.append(*_custody(n))  # its own transaction: one durable commit each
    single = APPENDS_ONE_PER_COMMIT / (time.perf_counter() - started)

    started = time.perf_counter()
    end = APPENDS_ONE_PER_COMMIT + APPENDS_BATCHED
    for batch in range(APPENDS_ONE_PER_COMMIT, end, 500):
        with transaction.atomic():
            for n in range(batch, min(batch + 500, end)):
                eventlog.append(*_custody(n))
    batched = APPENDS_BATCHED / (time.perf_counter() - started)
    print(f"  append, one commit each      {single:10,.0f} events/s")
    print(f"  append, 500 per transaction  {batched:10,.0f} events/s")
    return end


def _bulk_load(count: int) -> None:
    """The rest of the log, chained exactly as append() chains it but inserted in bulk."""
    from django.db import transaction
    from django.utils import timezone

    from despp.core import eventlog
    from despp.core.models import Event

    start = EVENTS - count
    heads = {
        stream: (position + 1, digest)
        for stream, position, digest in Event.objects.order_by("seq").values_list(
            "stream", "position", "hash"
        )
    }
    started = time.perf_counter()
    batch: list[Event] = []
    for n in range(start, EVENTS):
        stream, kind, data = _custody(n)
        position, prev_hash = heads.get(stream, (1, eventlog.GENESIS_HASH))
        at = timezone.now()
        digest = eventlog.event_hash(
            prev_hash=prev_hash,
            stream=stream,
            position=position,
            at=at,
            actor_id=None,
            actor_name="",
            kind=kind,
            data=data,
        )
        heads[stream] = (position + 1, digest)
        batch.append(
            Event(
                stream=stream,
                position=position,
                at=at,
                kind=kind,
                data=data,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        if len(batch) == 5000 or n == EVENTS - 1:
            with transaction.atomic():
                Event.objects.bulk_create(batch)
            batch = []
    rate = count / (time.perf_counter() - started)
    print(f"  bulk load (setup)            {rate:10,.0f} events/s")


def _measure_verification() -> None:
    from despp.core import eventlog

    cpus = os.cpu_count() or 1
    for label, workers in (("one process", 1), (f"{cpus} processes", cpus)):
        started = time.perf_counter()
        result = eventlog.verify_streams(workers=workers)
        elapsed = time.perf_counter() - started
        assert result.ok and result.events == EVENTS, result
        rate = result.events / elapsed
        projected = TARGET_EVENTS / rate
        verdict = "meets" if projected < TARGET_SECONDS else "MISSES"
        print(
            f"  verify, {label:<20} {rate:10,.0f} events/s  ({elapsed:.2f} s; "
            f"1M events in {projected:.1f} s: {verdict} the {TARGET_SECONDS:.0f} s target)"
        )


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    _child()
