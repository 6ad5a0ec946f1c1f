"""`despp verify-custody [--projections]`: check every item's chain of custody.

Exit status 0 when every `item:` chain holds and every split links its parent and children;
1 otherwise, naming each broken item (lab number and item number), its stream and the first
broken link. `--projections` also rebuilds the items', requests' and reports' projected
columns from their events and reports any that differ. Each run is recorded in the access
audit; a failure is logged at ERROR so that monitoring raises an alert.
"""

import logging
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from despp.core import audit
from despp.core.management.commands.verify_log import _operator
from despp.core.models import AuditAction, AuditOutcome
from despp.forensics.custody_check import check_custody

logger = logging.getLogger("despp.forensics")


class Command(BaseCommand):
    help = "Verify every evidence item's chain of custody and the links between split items."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--projections",
            action="store_true",
            help="also check that the stored item, request and report projections equal a "
            "rebuild from their events",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = check_custody(projections=options["projections"])
        audit.record(
            AuditAction.READ,
            username=_operator(),
            object_type="event_log",
            object_id="item:*",
            outcome=AuditOutcome.SUCCESS if result.ok else AuditOutcome.FAILURE,
            detail={
                "command": "verify-custody",
                "events": result.events,
                "items": result.items,
                "problems": [str(problem) for problem in result.problems[:100]],
            },
        )
        summary = (
            f"{result.events} custody events of {result.items} items verified, "
            f"{result.splits} splits linked"
        )
        if not result.ok:
            lines = [f"BROKEN {problem}" for problem in result.problems]
            logger.error("custody verification failed: %s", "; ".join(lines[:20]))
            raise CommandError(
                "\n".join([*lines, f"{summary}: {len(result.problems)} problem(s)"]), returncode=1
            )
        self.stdout.write(summary + ": every chain holds.")
