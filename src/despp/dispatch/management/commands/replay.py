"""`despp replay FILE.csv --url URL --token TOKEN --speed N`: stream a call log into a running
server over HTTP, with a progress bar; print throughput, latency percentiles, errors by status
and the loss check. Its last line reads `sent N, accepted A, lost L`. See dispatch/replay.py.

Exit status: 0 when every call was accepted and none is missing, 1 otherwise.
"""

import asyncio
import os
from pathlib import Path
from typing import IO, Any, cast

import httpx
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from despp.dispatch import replay


class Command(BaseCommand):
    help = "Replay a call log (CSV) into a running server over HTTP and check nothing was lost."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the call log (CSV with a header row)")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server")
        parser.add_argument("--token", help="API token (default: $DESPP_TOKEN)")
        pace = parser.add_mutually_exclusive_group()
        pace.add_argument(
            "--speed", type=float, help="speed-up of the log's own times (60: an hour a minute)"
        )
        pace.add_argument("--rate", type=float, help="a fixed number of calls per second instead")
        pace.add_argument("--flat-out", action="store_true", help="as fast as concurrency allows")
        parser.add_argument(
            "--map",
            dest="mapping",
            help="field=Column pairs (time=Received,lat=Y,lon=X,nature=Type) or a mapping file",
        )
        for name in ("time", "lat", "lon", "nature", "description"):
            parser.add_argument(f"--{name}-col", help=f"the column holding {name}")
        parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
        parser.add_argument("--retries", type=int, default=5, help="per call, on 503/429/no answer")
        parser.add_argument("--limit", type=int, help="send only the first N calls")
        parser.add_argument(
            "--run-id",
            help="prefix of every source_ref (default: from the file's contents, so a rerun "
            "adds nothing)",
        )
        parser.add_argument(
            "--link-duplicates",
            action="store_true",
            help="let the server offer duplicates instead of opening an incident per row",
        )
        parser.add_argument(
            "--no-loss-check", action="store_true", help="skip reading the database afterwards"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=cast(IO[str], self.stdout), highlight=False, soft_wrap=True)
        token = options["token"] or os.environ.get("DESPP_TOKEN", "")
        if not token:
            raise CommandError("Give an API token: --token or $DESPP_TOKEN (despp token create).")
        if options["concurrency"] < 1 or options["retries"] < 0:
            raise CommandError("--concurrency must be at least 1 and --retries at least 0.")
        speed = None if options["rate"] or options["flat_out"] else (options["speed"] or 60.0)
        if (speed is not None and speed <= 0) or (
            options["rate"] is not None and options["rate"] <= 0
        ):
            raise CommandError("--speed and --rate must be positive.")
        log = self._read(options)
        calls = log.calls[: options["limit"]] if options["limit"] else log.calls
        console.print(
            f"{options['file'].name}: {len(calls)} calls to send (run {log.run_id}), "
            f"{len(log.skipped)} rows skipped"
        )
        for line, why in log.skipped[:5]:
            console.print(f"  line {line}: {why}")
        result = asyncio.run(self._send(console, calls, options, token, speed))
        if not options["no_loss_check"]:
            replay.check_loss(result)
        self._report(console, result)
        console.print(result.summary_line())
        if result.failed or result.missing:
            raise CommandError("not every call was accepted and stored; see above")

    def _read(self, options: dict[str, Any]) -> replay.CallLog:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        overrides = {
            name: options[f"{name}_col"] for name in ("time", "lat", "lon", "nature", "description")
        }
        try:
            mapping = replay.parse_mapping(options["mapping"], overrides)
            return replay.read_log(path, mapping, run_id=options["run_id"])
        except replay.MappingError as exc:
            raise CommandError(str(exc)) from exc

    async def _send(
        self,
        console: Console,
        calls: list[replay.LogCall],
        options: dict[str, Any],
        token: str,
        speed: float | None,
    ) -> replay.ReplayResult:
        limits = httpx.Limits(
            max_connections=options["concurrency"], max_keepalive_connections=options["concurrency"]
        )
        headers = {"Authorization": f"Bearer {token}"}
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
        )
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as client:
            with Progress(*columns, console=console, transient=False) as progress:
                task = progress.add_task("replaying", total=len(calls), status="")
                sender = replay.Sender(
                    client=client,
                    base_url=options["url"],
                    retries=options["retries"],
                    new_incident=not options["link_duplicates"],
                )

                def done(outcome: replay.Outcome) -> None:
                    counts = sender.result.by_status()
                    progress.update(
                        task,
                        advance=1,
                        status=" ".join(f"{k}:{v}" for k, v in sorted(counts.items())),
                    )

                sender.on_done = done
                return await replay.replay(
                    calls,
                    sender,
                    speed=speed,
                    rate=options["rate"],
                    concurrency=options["concurrency"],
                )

    def _report(self, console: Console, result: replay.ReplayResult) -> None:
        seconds = max(result.elapsed_s, 1e-9)
        table = Table(title="replay", show_header=False)
        table.add_row(
            "throughput", f"{len(result.accepted) / seconds:,.1f} calls/s over {seconds:,.1f} s"
        )
        table.add_row(
            "latency ms",
            "  ".join(
                f"{name} {result.percentile_ms(q):.1f}"
                for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
            ),
        )
        table.add_row(
            "answers", "  ".join(f"{k}: {v}" for k, v in sorted(result.by_status().items()))
        )
        if result.retried:
            table.add_row(
                "retried", "  ".join(f"{k}: {v}" for k, v in sorted(result.retried.items()))
            )
        problems = sorted({(o.status, o.problem) for o in result.failed}, key=str)[:5]
        for status, problem in problems:
            table.add_row(f"failed {status}", problem)
        if result.missing is None:
            table.add_row("loss check", "skipped")
        elif result.missing:
            table.add_row(
                "loss check", f"LOST {len(result.missing)}: {', '.join(result.missing[:5])}"
            )
        else:
            table.add_row("loss check", f"all {len(result.accepted)} accepted calls are stored")
        console.print(table)
