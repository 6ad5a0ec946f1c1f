"""`despp flush`: Django's flush, able to empty the append-only tables too.

Emptying the whole database is the one deliberate exception to the append-only rule (the test
suite does it between transactional tests). The triggers are lifted and restored inside the
same transaction as the flush, so no other client ever sees the tables unprotected.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import connections

from despp.core import appendonly


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        if settings.PRODUCTION:
            # CJIS 5.4.6: audit records are kept at least a year; no command wipes them.
            raise CommandError("despp flush is refused when DESPP_ENV=production.")
        connection = connections[options["database"]]
        if options["interactive"]:
            # Ask before taking any lock, so no one waits on a pending answer.
            name = connection.settings_dict["NAME"]
            answer = input(
                f'This will IRREVERSIBLY DESTROY all data in the "{name}" database,'
                " including the event log and the access audit.\n"
                "Type 'yes' to continue, or 'no' to cancel: "
            )
            if answer != "yes":
                raise CommandError("Flush cancelled.")
        with appendonly.suspended(connection):
            super().handle(**{**options, "interactive": False})
