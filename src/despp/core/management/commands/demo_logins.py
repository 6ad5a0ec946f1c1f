"""`despp demo-logins`: the demo users, their roles, agencies, password and MFA secret."""

import io
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice
from rich.console import Console
from rich.table import Table

from despp.core.management.commands.load_demo import (
    DEMO_DEVICE_NAME,
    DEMO_PASSWORD,
    DEMO_TOTP_KEY,
    DEMO_TOTP_SECRET,
    DEMO_USERS,
)
from despp.core.models import User


class Command(BaseCommand):
    help = "Print the demo logins (development only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("There are no demo logins in production (DESPP_ENV=production).")
        users = {
            user.username: user
            for user in User.objects.select_related("agency").filter(
                username__in=[demo.username for demo in DEMO_USERS]
            )
        }
        with_demo_device = set(
            TOTPDevice.objects.filter(
                user__in=users.values(), name=DEMO_DEVICE_NAME, key=DEMO_TOTP_KEY.hex()
            ).values_list("user__username", flat=True)
        )
        table = Table(title="Demo logins (development data only)")
        for column in ("username", "role", "agency", "password", "MFA secret (TOTP)"):
            table.add_column(column)
        for demo in DEMO_USERS:
            user = users.get(demo.username)
            if user is None:
                continue
            table.add_row(
                demo.username,
                demo.role.label,
                user.agency.name if user.agency else "",
                DEMO_PASSWORD,
                DEMO_TOTP_SECRET if demo.username in with_demo_device else "not required",
            )
        buffer = io.StringIO()
        console = Console(file=buffer, width=160)
        if not users:
            console.print("No demo users yet: run `despp load-demo`.")
        else:
            console.print(table)
            console.print(
                "Sign in at /staff/login/. Accounts with an MFA secret ask for a code: add the "
                f"secret {DEMO_TOTP_SECRET} once to any authenticator app (time-based, "
                "6 digits, 30 s) and use its code for all of them."
            )
        self.stdout.write(buffer.getvalue(), ending="")
