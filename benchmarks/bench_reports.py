"""Compliance reports over a million 911 calls: how long one PSAP's quarter takes to compute.

The reports count, judge and rank in the database (selectors_reports.py: grouped conditional
counts and ROW_NUMBER windows over epoch arithmetic). For scale the same run times the naive way:
read every answer time of the quarter into Python (one column, `values_list`) and sort it.
Each database is a fresh, throw-away one.

    python -m benchmarks reports                       # 1,000,000 calls
    DESPP_BENCH_CALLS=200000 python -m benchmarks reports
"""

import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_eventlog import PG_SERVER, _pg_admin

CALLS = int(os.environ.get("DESPP_BENCH_CALLS", "1000000"))
INCIDENT_SHARE = 4  # one call in four opens an incident
TARGET_SECONDS = 5.0  # a quarter of one busy PSAP, every profile target, on one page load
REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    print(f"{CALLS:,} calls in one quarter at one PSAP, 1 in {INCIDENT_SHARE} opens an incident")
    with tempfile.TemporaryDirectory(prefix="despp-bench-reports-") as var_dir:
        _run_child("SQLite", {"DESPP_VAR_DIR": var_dir})
    database = f"despp_bench_reports_{uuid.uuid4().hex[:8]}"
    if not _pg_admin(f"CREATE DATABASE {database}"):
        print("\nPostgreSQL: not reachable at", PG_SERVER, "- skipped")
        return
    try:
        with tempfile.TemporaryDirectory(prefix="despp-bench-reports-") as var_dir:
            _run_child(
                "PostgreSQL",
                {"DESPP_VAR_DIR": var_dir, "DATABASE_URL": f"{PG_SERVER}/{database}"},
            )
    finally:
        _pg_admin(f"DROP DATABASE IF EXISTS {database}")


def _run_child(label: str, env: dict[str, str]) -> None:
    print(f"\n{label}", flush=True)
    child_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    child_env |= env | {"DJANGO_SETTINGS_MODULE": "despp.settings", "DESPP_DEBUG": "false"}
    subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_reports", "--child"],
        env=child_env,
        cwd=REPO,
        check=True,
    )


def _load() -> None:
    from despp.core.models import Agency, AgencyKind
    from despp.dispatch.models import (
        Call,
        CallStatus,
        ClassOfService,
        Discipline,
        Incident,
        IncidentSource,
        IncidentStatus,
        NatureCode,
    )

    rng = random.Random(7)
    psap = Agency.objects.create(code="psap-bench", name="Bench PSAP", kind=AgencyKind.PSAP)
    nature = NatureCode.objects.create(
        code="MEDICAL", label="Medical", discipline=Discipline.EMS, default_priority=1
    )
    start = datetime(2026, 1, 1, 5, tzinfo=UTC)
    span = 90 * 86400
    started = time.perf_counter()
    incident_rows: list[tuple[object, ...]] = []
    call_rows: list[tuple[object, ...]] = []
    for index, received in enumerate(
        sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(CALLS))
    ):
        incident_id = None
        if index % INCIDENT_SHARE == 0:
            incident_id = len(incident_rows) + 1
            notified = received + timedelta(seconds=rng.gammavariate(4, 15))
            incident_rows.append(
                (incident_id, psap.pk, 2026, incident_id, nature.pk, rng.choice((1, 2, 3)),
                 IncidentSource.CALL, IncidentStatus.CLOSED, "", "",
                 received + timedelta(seconds=20), notified)
            )  # fmt: skip
        abandoned = rng.random() < 0.03
        answered = None if abandoned else received + timedelta(seconds=rng.expovariate(0.12))
        call_rows.append(
            (psap.pk, "", "", ClassOfService.WIRELESS, "", "", "", True, received, answered,
             answered + timedelta(seconds=90) if answered else None,
             CallStatus.ABANDONED if abandoned else CallStatus.RELEASED, "", 0, incident_id, "")
        )  # fmt: skip
    _insert(Incident, ["id", "psap_id", "year", "number", "nature_id", "priority", "source",
                       "status", "location_text", "eido_id", "created_at", "first_notified_at"],
            incident_rows)  # fmt: skip
    _insert(Call, ["psap_id", "source_ref", "callback_number", "class_of_service",
                   "civic_address", "location_text", "transfer_reason", "in_state",
                   "received_at", "answered_at", "released_at", "status", "callback_status",
                   "callback_attempts", "incident_id", "description"], call_rows)  # fmt: skip
    print(f"  loaded {CALLS:,} calls in {time.perf_counter() - started:.0f} s", flush=True)


def _insert(model: Any, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    """Rows straight through the cursor (bulk_create's model instances would dominate)."""
    from django.db import connection, transaction

    table = model._meta.db_table
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    adapt = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        for offset in range(0, len(rows), 50_000):
            chunk = rows[offset : offset + 50_000]
            cursor.executemany(
                sql, [[adapt(v) if isinstance(v, datetime) else v for v in r] for r in chunk]
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
            )
            cursor.execute(f"ANALYZE {table}")


def _timed(label: str, work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    print(f"  {label:<58} {elapsed:7.2f} s", flush=True)
    return elapsed


def _child() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _load()
    from django.db.models import F

    from despp.core.models import Agency
    from despp.dispatch.compliance import PROFILE_BY_CODE
    from despp.dispatch.models import Call
    from despp.dispatch.report_sql import duration
    from despp.dispatch.selectors_reports import compute, ct_quarterly

    psap = Agency.objects.get(code="psap-bench")
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    nena, nfpa = PROFILE_BY_CODE["nena-sta-020.1-2020"], PROFILE_BY_CODE["nfpa-1221-2019"]
    times = {
        "NENA answer targets, per day": _timed(
            "NENA answer targets, per day (90 buckets)",
            lambda: compute(psap, nena, "day", first, last),
        ),
        "NENA answer, per hour": _timed(
            "NENA answer targets, per hour (2,160 buckets)",
            lambda: compute(psap, nena, "hour", first, last),
        ),
        "NFPA 1221 per day": _timed(
            "NFPA 1221 answer + processing targets, per day",
            lambda: compute(psap, nfpa, "day", first, last),
        ),
        "NFPA 1221 per quarter": _timed(
            "NFPA 1221 answer + processing targets, per quarter",
            lambda: compute(psap, nfpa, "quarter", first, last),
        ),
    }

    class _Statewide:
        is_authenticated = True
        is_active = True
        agency_id = None

    from despp.core import scoping

    scoping.can = lambda user, action: True  # type: ignore[assignment]  # a statewide reader
    _timed("CT quarterly report (CGS 28-25b)", lambda: ct_quarterly(_Statewide(), 2026, 1))

    def naive() -> None:
        values = sorted(
            value
            for value in Call.objects.filter(psap=psap, answered_at__isnull=False)
            .annotate(dur=duration(F("received_at"), F("answered_at")))
            .values_list("dur", flat=True)
            .iterator(chunk_size=20_000)
        )
        assert values

    baseline = _timed("baseline: every answer time into Python, sorted", naive)
    worst = max(times.values())
    print(
        f"  slowest report {worst:.2f} s (target < {TARGET_SECONDS:.0f} s); "
        f"one-column fetch alone {baseline:.2f} s"
    )


if __name__ == "__main__":
    if "--child" in sys.argv:
        _child()
    else:
        main()
