"""911 call intake over HTTP against PostgreSQL: sustained rate, latency, loss; and the same
server's bare one-row insert endpoint for scale.

Target (issue 3): POST /api/dispatch/calls (token auth, validation, jurisdiction, incident,
events, audit) sustained at 500 calls/s for 60 s on this 2-core machine with the load
generator included, p99 under 100 ms, zero loss.

What it does, in one run:
1. creates a throw-away PostgreSQL database, migrates it, loads the reference and demo data,
   and issues an API token for the demo call-taker;
2. starts uvicorn as production runs it (DESPP_ENV=production, debug off, uvloop + httptools,
   DESPP_BENCH_WORKERS workers) with the benchmark-only app benchmarks.baresite mounted (a
   settings module only this benchmark uses; nothing is added to the production URLs);
3. measures the bare endpoint flat out, intake flat out, then intake open-loop at
   DESPP_BENCH_RATE calls/s for DESPP_BENCH_SECONDS (latency counted from each request's
   scheduled time, so a stalled server cannot hide its queue); every call carries a unique
   source_ref, and afterwards every call answered 201 is looked for in the database;
4. prints the figures, the ratio to the bare endpoint, and CPU per call (server workers,
   PostgreSQL backends, load generator), then drops the database.

The load generator is a lean asyncio HTTP/1.1 keep-alive client in this process: it shares the
two cores with the server and PostgreSQL, so it must cost little (httpx costs several times
more CPU per request than the server's own work here). `despp replay` uses httpx.

    python -m benchmarks intake
    DESPP_BENCH_SECONDS=20 DESPP_BENCH_RATE=300 python -m benchmarks intake
"""

import asyncio
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_eventlog import PG_SERVER, _pg_admin

REPO = Path(__file__).resolve().parent.parent
DB_PREFIX = os.environ.get("DESPP_BENCH_DB_PREFIX", "despp_bench_intake")
SECONDS = float(os.environ.get("DESPP_BENCH_SECONDS", "60"))
RATE = float(os.environ.get("DESPP_BENCH_RATE", "500"))
WORKERS = int(os.environ.get("DESPP_BENCH_WORKERS", "2"))
CONNECTIONS = int(os.environ.get("DESPP_BENCH_CONNECTIONS", "48"))
FLAT_OUT_SECONDS = float(os.environ.get("DESPP_BENCH_FLAT_OUT_SECONDS", "10"))
TARGET_RATE, TARGET_P99_MS = 500.0, 100.0
SAMPLE = REPO / "src/despp/dispatch/data/samples/ct-synthetic-24h.csv"
INTAKE_PATH, BARE_PATH = "/api/dispatch/calls", "/bench/bare-insert"


def main() -> None:
    database = f"{DB_PREFIX}_{uuid.uuid4().hex[:8]}"
    if not _pg_admin(f"CREATE DATABASE {database}"):
        print("PostgreSQL: not reachable at", PG_SERVER, "- skipped")
        return
    server = None
    try:
        env = _env(database)
        token = _prepare(env)
        port = int(os.environ.get("DESPP_BENCH_PORT", "0")) or _free_port()
        server = _serve(env, port)
        print(
            f"uvicorn: {WORKERS} workers on port {port}, production settings; load: "
            f"{CONNECTIONS} keep-alive connections; load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        asyncio.run(_measure(port, token, database, server))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        _pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _env(database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DESPP_", "DJANGO_"))}
    return env | {
        "DATABASE_URL": f"{PG_SERVER}/{database}",
        "DJANGO_SETTINGS_MODULE": "benchmarks.baresite.settings",
        "DESPP_VAR_DIR": os.environ.get("DESPP_VAR_DIR", str(REPO / "var")),
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
    }


def _prepare(env: dict[str, str]) -> str:
    """Migrate, load the reference and demo data; return a call-taker's API token."""
    django = [sys.executable, "-m", "django"]
    for step in (["migrate", "--run-syncdb", "-v0"], ["load_reference"], ["load_demo"]):
        subprocess.run([*django, *step], env=env, cwd=REPO, check=True, capture_output=True)  # noqa: S603
    made = subprocess.run(  # noqa: S603
        [*django, "token", "create", "calltaker", "--name", "bench_intake"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.strip().splitlines()[-1]


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    production = env | {
        "DESPP_ENV": "production",
        "DESPP_SECRET_KEY": secrets.token_urlsafe(60),
        "DESPP_ALLOWED_HOSTS": "127.0.0.1",
        "DESPP_SSL_REDIRECT": "false",  # loopback HTTP; production terminates TLS in front
        "DESPP_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable, "-m", "uvicorn", "benchmarks.baresite.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=production, cwd=REPO, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                time.sleep(8)  # workers import Django and warm the jurisdiction index
                return server
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("uvicorn did not start")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the load generator ----------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: list[str] = field(default_factory=list)
    reconnects: int = 0
    elapsed: float = 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0

    @property
    def rate(self) -> float:
        return sum(self.statuses.values()) / self.elapsed if self.elapsed else 0.0


class Connection:
    """One keep-alive HTTP/1.1 connection: one request at a time, reconnect on failure."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.head = f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        request = (
            f"POST {path} HTTP/1.1\r\n{self.head}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(request.encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Load:
    def __init__(self, port: int, token: str) -> None:
        with SAMPLE.open(encoding="utf-8") as rows:
            self.points = [(float(r["Y"]), float(r["X"]), r["Type"]) for r in csv.DictReader(rows)]
        self.connections = [Connection(port, token) for _ in range(CONNECTIONS)]
        self.run = uuid.uuid4().hex[:8]
        self.sent = 0

    def body(self, path: str) -> tuple[str, bytes]:
        self.sent += 1
        lat, lon, nature = self.points[self.sent % len(self.points)]
        ref = f"bench-{self.run}-{self.sent}"
        call = {
            "source_ref": ref,
            "class_of_service": "wireless",
            "callback_number": "8605550100",
            "lat": lat,
            "lon": lon,
            "uncertainty_m": 30,
            "nature": nature,
            "description": "benchmark call",
            "new_incident": True,
        }
        return ref, json.dumps(call).encode()

    async def _one(self, conn: Connection, phase: Phase, path: str, due: float) -> None:
        ref, body = self.body(path)
        for _attempt in range(5):
            try:
                status = await asyncio.wait_for(conn.post(path, body), 10)
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                conn.close()
                phase.reconnects += 1
                continue
            phase.latencies.append(time.perf_counter() - due)
            phase.statuses[status] += 1
            if status in (200, 201):
                phase.accepted.append(ref)
            return
        phase.statuses[0] += 1

    async def flat_out(self, name: str, path: str, seconds: float) -> Phase:
        """Every connection sends its next request as soon as the last is answered."""
        phase = Phase(name)
        start = time.perf_counter()

        async def worker(conn: Connection) -> None:
            while time.perf_counter() - start < seconds:
                await self._one(conn, phase, path, time.perf_counter())

        await asyncio.gather(*(worker(conn) for conn in self.connections))
        phase.elapsed = time.perf_counter() - start
        return phase

    async def open_loop(self, name: str, path: str, rate: float, seconds: float) -> Phase:
        """Request i is due at start + i / rate, whatever the server does."""
        phase = Phase(name)
        idle: asyncio.Queue[Connection] = asyncio.Queue()
        for conn in self.connections:
            idle.put_nowait(conn)
        start = time.perf_counter()
        tasks = []

        async def send(due: float) -> None:
            conn = await idle.get()
            try:
                await self._one(conn, phase, path, due)
            finally:
                idle.put_nowait(conn)

        for i in range(int(rate * seconds)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(due)))
        await asyncio.gather(*tasks)
        phase.elapsed = time.perf_counter() - start
        return phase


# --- measuring ------------------------------------------------------------------------------


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _pg_backends(database: str) -> list[int]:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as pg:
        rows = pg.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [database])
        return [int(pid) for (pid,) in rows]


def _stored(database: str, refs: list[str]) -> set[str]:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/{database}", autocommit=True) as pg:
        rows = pg.execute("SELECT source_ref FROM dispatch_call WHERE source_ref = ANY(%s)", [refs])
        return {ref for (ref,) in rows}


async def _measure(port: int, token: str, database: str, server: subprocess.Popen[bytes]) -> None:
    load = Load(port, token)
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
    workers = [int(pid) for pid in children.split()]
    await load.open_loop("warm-up", INTAKE_PATH, 100, 5)
    bare = await load.flat_out("bare insert, flat out", BARE_PATH, FLAT_OUT_SECONDS)
    _report(bare)
    intake_max = await load.flat_out("intake, flat out", INTAKE_PATH, FLAT_OUT_SECONDS)
    _report(intake_max)
    backends = _pg_backends(database)
    before = (_cpu_seconds(workers), _cpu_seconds(backends), time.process_time())
    sustained = await load.open_loop(
        f"intake at {RATE:g}/s for {SECONDS:g} s", INTAKE_PATH, RATE, SECONDS
    )
    after = (_cpu_seconds(workers), _cpu_seconds(backends), time.process_time())
    _report(sustained)
    calls = max(1, sum(sustained.statuses.values()))
    cpu = [(b - a) / calls * 1e6 for a, b in zip(before, after, strict=True)]
    print(
        f"  CPU per call: server {cpu[0]:.0f} µs, PostgreSQL {cpu[1]:.0f} µs, "
        f"load generator {cpu[2]:.0f} µs (2 cores = 2,000,000 µs/s)"
    )
    accepted = intake_max.accepted + sustained.accepted
    lost = len(accepted) - len(_stored(database, accepted))
    failed = sum(n for status, n in sustained.statuses.items() if status not in (200, 201))
    print(f"  loss: {lost} of {len(accepted):,} calls answered 201 are missing from the database")
    print(
        f"  intake flat out {intake_max.rate:,.0f}/s vs bare insert {bare.rate:,.0f}/s: "
        f"bare is {bare.rate / max(intake_max.rate, 1e-9):.1f}x; sustained p99 "
        f"{sustained.pct(0.99):.1f} ms vs bare p99 {bare.pct(0.99):.1f} ms"
    )
    verdict = (
        sustained.rate >= TARGET_RATE * 0.99
        and sustained.pct(0.99) < TARGET_P99_MS
        and lost == 0
        and failed == 0
    )
    print(
        f"  target: >= {TARGET_RATE:g} calls/s sustained, p99 < {TARGET_P99_MS:g} ms, 0 lost, "
        f"0 failed: {'MET' if verdict else 'NOT MET'} (load average now "
        f"{os.getloadavg()[0]:.2f})"
    )


def _report(phase: Phase) -> None:
    answers = " ".join(f"{status or 'none'}:{n}" for status, n in sorted(phase.statuses.items()))
    print(
        f"{phase.name}: {phase.rate:,.0f} req/s over {phase.elapsed:.1f} s, "
        f"p50 {phase.pct(0.5):.1f} ms, p99 {phase.pct(0.99):.1f} ms, max {phase.pct(1.0):.1f} ms; "
        f"answers {answers}; reconnects {phase.reconnects}",
        flush=True,
    )


if __name__ == "__main__":
    main()
