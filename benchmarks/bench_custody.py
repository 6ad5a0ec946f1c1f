"""Chain of custody: verify 1,000,000 custody events (target < 10 s), and take in 10,000
items with their labels (target < 30 s), on SQLite and PostgreSQL.

Each database is a fresh, throw-away one. The million events are item streams chained exactly
as `append` chains them but bulk-inserted (the event-log benchmark's loader), then checked by
`despp verify-custody`'s own function (every `item:` chain and every split link). The intake
goes through the real services: 20 submissions of 500 items each, every item received by
intake staff, then one label sheet (PDF) for all 10,000.

    python -m benchmarks custody
    DESPP_BENCH_CUSTODY_EVENTS=200000 python -m benchmarks custody   # a quicker run
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid

from benchmarks import bench_eventlog

VERIFY_EVENTS = int(os.environ.get("DESPP_BENCH_CUSTODY_EVENTS", "1000000"))
VERIFY_TARGET_SECONDS = 10.0
INTAKE_ITEMS = 10_000
ITEMS_PER_SUBMISSION = 500
INTAKE_TARGET_SECONDS = 30.0


def main() -> None:
    print(f"{VERIFY_EVENTS:,} custody events to verify; {INTAKE_ITEMS:,} items to take in")
    with tempfile.TemporaryDirectory(prefix="despp-bench-custody-") as var_dir:
        _run_child("SQLite", {"DESPP_VAR_DIR": var_dir})
    database = f"despp_bench_custody_{uuid.uuid4().hex[:8]}"
    if not bench_eventlog._pg_admin(f"CREATE DATABASE {database}"):
        print("\nPostgreSQL: not reachable at", bench_eventlog.PG_SERVER, "- skipped")
        return
    try:
        with tempfile.TemporaryDirectory(prefix="despp-bench-custody-") as var_dir:
            url = f"{bench_eventlog.PG_SERVER}/{database}"
            _run_child("PostgreSQL", {"DESPP_VAR_DIR": var_dir, "DATABASE_URL": url})
    finally:
        bench_eventlog._pg_admin(f"DROP DATABASE IF EXISTS {database}")


def _run_child(label: str, env: dict[str, str]) -> None:
    print(f"\n{label}", flush=True)
    child_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    child_env |= env | {"DJANGO_SETTINGS_MODULE": "despp.settings", "DESPP_DEBUG": "false"}
    subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_custody", "--child"],
        env=child_env,
        cwd=bench_eventlog.REPO,
        check=True,
    )


def _child() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _measure_intake()
    _measure_verification()


def _verdict(seconds: float, target: float) -> str:
    return f"{'meets' if seconds < target else 'MISSES'} the {target:.0f} s target"


def _measure_intake() -> None:
    from django.contrib.auth.models import Group

    from despp.core.models import Agency, AgencyKind, User
    from despp.core.permissions import Role, sync_role_groups
    from despp.forensics import services
    from despp.forensics.models import Item
    from despp.forensics.pdf import labels_pdf

    sync_role_groups()
    troop = Agency.objects.create(code="bench-troop", name="Bench troop", kind=AgencyKind.TROOP)
    lab = Agency.objects.create(code="bench-lab", name="Bench laboratory", kind=AgencyKind.LAB)
    officer = User.objects.create(username="bench-officer", agency=troop)
    officer.groups.add(Group.objects.get(name=Role.TROOPER))
    intake = User.objects.create(username="bench-intake", agency=lab)
    intake.groups.add(Group.objects.get(name=Role.LAB_INTAKE))
    item = services.ItemSpec("Sealed bag, white powder", "drug", "plastic-bag", "S-0001")
    exam = services.ExamSpec("cs-drug-identification", list(range(ITEMS_PER_SUBMISSION)))

    started = time.perf_counter()
    submissions = [
        services.submit_evidence(
            officer,
            services.SubmissionSpec(
                case_number=f"BENCH-{n:03d}",
                offense="Possession",
                items=[item] * (ITEMS_PER_SUBMISSION),
                examinations=[exam],
            ),
        )
        for n in range(INTAKE_ITEMS // ITEMS_PER_SUBMISSION)
    ]
    submitted = time.perf_counter()
    for submission in submissions:
        receipts = [services.Receipt(pk) for pk in submission.items.values_list("pk", flat=True)]
        services.receive_items(intake, submission, receipts)
    received = time.perf_counter()
    items = Item.objects.select_related("submission").order_by("id")
    pdf = labels_pdf(items)
    done = time.perf_counter()
    total = done - started
    print(f"  intake: submit {INTAKE_ITEMS:,} items       {submitted - started:6.2f} s")
    print(f"  intake: receive {INTAKE_ITEMS:,} items      {received - submitted:6.2f} s")
    print(f"  intake: label sheets ({len(pdf) / 1e6:.1f} MB)  {done - received:6.2f} s")
    print(f"  intake of {INTAKE_ITEMS:,} items with labels: {total:.2f} s "
          f"({_verdict(total, INTAKE_TARGET_SECONDS)})")  # fmt: skip


def _measure_verification() -> None:
    from despp.core.models import Event
    from despp.forensics.custody_check import check_custody

    bench_eventlog.EVENTS = Event.objects.count() + VERIFY_EVENTS
    bench_eventlog._bulk_load(VERIFY_EVENTS)
    started = time.perf_counter()
    result = check_custody()
    elapsed = time.perf_counter() - started
    assert result.ok, result.problems[:3]
    rate = result.events / elapsed
    projected = 1_000_000 / rate
    print(
        f"  verify-custody: {result.events:,} events of {result.items:,} items in {elapsed:.2f} s "
        f"({rate:,.0f} events/s; 1M events in {projected:.1f} s: "
        f"{_verdict(projected, VERIFY_TARGET_SECONDS)})"
    )


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    _child()
