"""`despp simulate`: live, realistic dispatch-floor activity for demos and dispatcher training
(calls by hour of day and town population, units dispatched, driving with AVL fixes, on scene,
clearing). See dispatch/simulation.py. Ctrl-C stops between two actions, nothing half-done."""

import os
import random
import signal
import uuid
from datetime import UTC, datetime
from typing import IO, Any, cast

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.live import Live
from rich.text import Text

from despp.core.models import Agency, User
from despp.dispatch import simulation, simulation_drivers


class Command(BaseCommand):
    help = (
        "Simulate live dispatch activity (calls, incidents, units moving) for demos and training."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=float, default=60, help="simulated minutes to run")
        parser.add_argument(
            "--speed", type=float, default=1, help="simulated seconds per wall-clock second"
        )
        parser.add_argument("--seed", type=int, default=1, help="same seed, same activity")
        parser.add_argument(
            "--calls-per-hour",
            type=float,
            default=simulation.CALLS_PER_HOUR,
            help="average arrival rate (statewide default; the hour of day shapes it)",
        )
        parser.add_argument("--psap", help="only the towns this PSAP (agency code) serves")
        parser.add_argument(
            "--avl-seconds", type=float, default=5, help="simulated seconds per fix"
        )
        parser.add_argument("--user", default="dispatcher", help="who acts (in-process mode)")
        parser.add_argument("--http", metavar="URL", help="act through this server's API instead")
        parser.add_argument("--token", help="API token for --http (default: $DESPP_TOKEN)")
        parser.add_argument(
            "--fast", action="store_true", help="do not pace on the clock: as fast as it goes"
        )
        parser.add_argument(
            "--write-log",
            metavar="FILE",
            help="write a synthetic call log (CSV for `despp replay`) of --minutes instead",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["speed"] <= 0 or options["minutes"] <= 0 or options["avl_seconds"] <= 0:
            raise CommandError("--speed, --minutes and --avl-seconds must be positive.")
        if settings.PRODUCTION and not options["http"]:
            raise CommandError("simulate writes invented calls: refused in production.")
        console = Console(file=cast(IO[str], self.stdout), highlight=False, soft_wrap=True)
        psap = self._psap(options["psap"])
        towns = simulation.TownSampler(simulation_drivers.towns(psap))
        natures = simulation_drivers.natures()
        if options["write_log"]:
            self._write_log(console, towns, natures, options)
            return
        run_id = f"sim-{options['seed']}-{uuid.uuid4().hex[:6]}"
        client: httpx.Client | None = None
        driver: simulation.Driver
        if options["http"]:
            token = options["token"] or os.environ.get("DESPP_TOKEN", "")
            if not token:
                raise CommandError("--http needs --token or $DESPP_TOKEN.")
            client = httpx.Client(
                base_url=options["http"], headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            driver = simulation_drivers.HttpDriver(
                client,
                run_id=run_id,
                seed=options["seed"],
                dispositions=simulation_drivers.disposition_codes(),
            )
        else:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['user']!r} (despp load-demo).")
            agencies = simulation_drivers.psap_agencies(psap) if psap is not None else None
            driver = simulation_drivers.ServicesDriver(
                user, run_id=run_id, seed=options["seed"], agencies=agencies
            )
        try:
            sim = simulation.Simulation(
                driver,
                towns,
                natures,
                seed=options["seed"],
                start=datetime.now(UTC),
                calls_per_hour=options["calls_per_hour"],
                avl_seconds=options["avl_seconds"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        console.print(
            f"simulating {options['minutes']:g} min at {options['speed']:g}x, seed "
            f"{options['seed']}, {len(towns.towns)} towns, {len(sim.units)} units, "
            f"{len(natures)} nature codes (run {run_id}); Ctrl-C stops"
        )
        # `kill` (SIGTERM) stops as cleanly as Ctrl-C: between two actions.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            with Live(console=console, refresh_per_second=2, transient=True) as live:

                def tick(s: simulation.Simulation) -> None:
                    live.update(Text(f"t+{s.now / 60:5.1f} min  {s.stats.line()}"))

                stats = sim.run(
                    options["minutes"] * 60,
                    speed=options["speed"],
                    realtime=not options["fast"],
                    on_tick=tick,
                )
        finally:
            if client is not None:
                client.close()
        console.print(f"t+{sim.now / 60:.1f} min: {stats.line()}")
        for why, count in stats.refused.most_common(5):
            console.print(f"  refused {count}x: {why}")

    def _write_log(
        self,
        console: Console,
        towns: simulation.TownSampler,
        natures: list[tuple[str, str, float, str]],
        options: dict[str, Any],
    ) -> None:
        rng = random.Random(options["seed"])  # noqa: S311 - reproducible, not secrets
        # From local midnight, so a day's log shows the whole diurnal curve.
        start = datetime.now(simulation.CONNECTICUT).replace(hour=0, minute=0, second=0)
        calls = simulation.synthetic_calls(
            rng,
            towns,
            [(code, weight, text) for code, _, weight, text in natures],
            start.replace(microsecond=0),
            options["minutes"] / 60,
            calls_per_hour=options["calls_per_hour"],
        )
        with open(options["write_log"], "w", encoding="utf-8", newline="") as out:
            simulation.write_log(out, calls)
        console.print(
            f"{len(calls)} synthetic calls written to {options['write_log']}; replay with "
            f"--map '{simulation.LOG_MAPPING}'"
        )

    def _psap(self, code: str | None) -> Agency | None:
        if not code:
            return None
        psap = Agency.objects.filter(code=code).first()
        if psap is None:
            raise CommandError(f"No agency with code {code!r}.")
        return psap
