"""`despp verify-log [--stream S ...]`: check every hash chain of the event log.

Exit status 0 when every chain holds and the append-only triggers are in place; 1 otherwise,
naming the first broken link (stream, position, seq, reason) of each broken stream and every
missing trigger. Each run is itself recorded in the access audit (CJIS 5.4.1.1: attempts to
access the audit log), and a failure is logged at ERROR so that monitoring raises an alert.
"""

import getpass
import logging
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from despp.core import appendonly, audit
from despp.core.eventlog import Verification, verify_streams
from despp.core.models import AuditAction, AuditOutcome, Event

logger = logging.getLogger("despp.eventlog")


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


class Command(BaseCommand):
    help = "Verify the hash chains of the event log and its append-only protection."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--stream",
            action="append",
            dest="streams",
            metavar="STREAM",
            help="verify only this stream (repeatable); default: every stream",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        streams: list[str] | None = options["streams"]
        with self._progress(streams) as progress:
            result = verify_streams(streams, progress=progress)
        unprotected = appendonly.unprotected(connection)
        self._record(streams, result, unprotected)
        problems = [f"BROKEN {link}" for link in result.broken]
        problems += [
            f"UNPROTECTED table {table}: trigger(s) {', '.join(names)} missing or disabled"
            for table, names in unprotected.items()
        ]
        summary = f"{result.events} events in {result.streams} streams verified"
        if problems:
            logger.error("event log verification failed: %s", "; ".join(problems))
            raise CommandError(
                "\n".join([*problems, f"{summary}: {len(result.broken)} broken"]), returncode=1
            )
        self.stdout.write(summary)

    @contextmanager
    def _progress(self, streams: list[str] | None) -> Iterator[Any]:
        """A rich progress bar on a terminal; nothing when output goes to a file or a pipe."""
        if not self.stdout.isatty():
            yield None
            return
        queryset = Event.objects.all()
        if streams is not None:
            queryset = queryset.filter(stream__in=streams)
        columns = (
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("events", total=queryset.count())
            yield lambda done: bar.update(task, completed=done)

    def _record(
        self,
        streams: list[str] | None,
        result: Verification,
        unprotected: dict[str, list[str]],
    ) -> None:
        audit.record(
            AuditAction.READ,
            username=_operator(),
            object_type="event_log",
            object_id=(",".join(streams) if streams else "*")[:80],
            outcome=AuditOutcome.SUCCESS if result.ok and not unprotected else AuditOutcome.FAILURE,
            detail={
                "command": "verify-log",
                "events": result.events,
                "streams": result.streams,
                "broken": [str(link) for link in result.broken],
                "unprotected": unprotected,
            },
        )
