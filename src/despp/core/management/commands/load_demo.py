"""`despp load-demo`: one demo user per role, for development and demonstrations only.

Every demo user has the same published passphrase, and those whose role needs a second factor
get an authenticator with the same published secret, so a person can add it to an app once and
sign in as anyone. Refused when DESPP_ENV=production. Idempotent: a second run changes nothing
(pass --reset-passwords to put back a demo password someone changed).

Then each app's demo records: an app with a `demo` module has its `load_demo_data()` called
(idempotent, returns a one-line summary), so `make run` shows every division with data in it.
"""

import importlib
import importlib.util
from base64 import b32encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import AppConfig
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from despp.core.models import Agency, AgencyKind, User
from despp.core.permissions import MFA_ROLES, Role, sync_role_groups

DEMO_PASSWORD = "harbor-lantern-maple-orbit"  # noqa: S105 - published on purpose: demo data only
DEMO_TOTP_KEY = b"DESPP demo TOTP key!"
DEMO_TOTP_SECRET = b32encode(DEMO_TOTP_KEY).decode("ascii")
DEMO_DEVICE_NAME = "Demo authenticator (published secret)"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    last_name: str
    agency_codes: tuple[str, ...]
    agency_kind: AgencyKind | None = None
    superuser: bool = False

    @property
    def needs_mfa(self) -> bool:
        return self.superuser or self.role in MFA_ROLES


_PSAP = ("psap-csp-eastern", "psap-eastern")
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("calltaker", Role.CALL_TAKER, "Call-taker", _PSAP, AgencyKind.PSAP),
    DemoUser("dispatcher", Role.DISPATCHER, "Dispatcher", _PSAP, AgencyKind.PSAP),
    DemoUser("trooper", Role.TROOPER, "Trooper", ("csp-troop-c",)),
    DemoUser("supervisor", Role.SUPERVISOR, "Supervisor", ("csp-troop-c",)),
    DemoUser("records", Role.RECORDS_CLERK, "Records", ("csp",)),
    DemoUser("labintake", Role.LAB_INTAKE, "Lab-Intake", ("dss-lab",), AgencyKind.LAB),
    DemoUser("analyst", Role.ANALYST, "Analyst", ("dss-lab",), AgencyKind.LAB),
    DemoUser("reviewer", Role.REVIEWER, "Reviewer", ("dss-lab",), AgencyKind.LAB),
    # A second reviewer: the administrative review must not be made by the technical reviewer.
    DemoUser("labmanager", Role.REVIEWER, "Lab-Manager", ("dss-lab",), AgencyKind.LAB),
    DemoUser("coordinator", Role.TRAINING_COORDINATOR, "Coordinator", ("post-academy",)),
    DemoUser("academy", Role.ACADEMY_ADMIN, "Academy", ("post",)),
    DemoUser("emergency", Role.EMERGENCY_MANAGER, "Emergency", ("demhs",)),
    DemoUser("alerts", Role.ALERT_ORIGINATOR, "Alerts", ("demhs",)),
    DemoUser("auditor", Role.AUDITOR, "Auditor", ("despp",)),
    DemoUser("admin", Role.SYSTEM_ADMIN, "Admin", ("despp",), superuser=True),
)


def demo_agency(demo: DemoUser) -> Agency:
    for code in demo.agency_codes:
        agency = Agency.objects.filter(code=code).first()
        if agency is not None:
            return agency
    if demo.agency_kind is not None:
        agency = Agency.objects.filter(kind=demo.agency_kind).order_by("code").first()
        if agency is not None:
            return agency
    raise CommandError(
        f"No agency for demo user {demo.username!r} (looked for {', '.join(demo.agency_codes)}"
        f"{' or any ' + demo.agency_kind.label if demo.agency_kind else ''}). "
        "Run `despp load-reference` first."
    )


def _ensure_user(demo: DemoUser, agency: Agency, reset_password: bool) -> bool:
    user, created = User.objects.get_or_create(username=demo.username)
    wanted = {
        "first_name": "Demo",
        "last_name": demo.last_name,
        "agency": agency,
        "is_active": True,
        "is_staff": demo.superuser or demo.role == Role.AUDITOR,
        "is_superuser": demo.superuser,
    }
    changed = [field for field, value in wanted.items() if getattr(user, field) != value]
    for field in changed:
        setattr(user, field, wanted[field])
    if created or reset_password:
        user.set_password(DEMO_PASSWORD)
        changed.append("password")
    if changed:
        user.save()
    user.groups.set([Group.objects.get(name=demo.role.value)])
    if demo.needs_mfa:
        TOTPDevice.objects.update_or_create(
            user=user,
            name=DEMO_DEVICE_NAME,
            defaults={"key": DEMO_TOTP_KEY.hex(), "confirmed": True},
        )
    return created


def load_demo(reset_passwords: bool = False) -> int:
    """Create or update the demo users; returns how many were new."""
    if settings.PRODUCTION:
        raise CommandError(
            "load-demo creates accounts with a published password and is refused in "
            "production (DESPP_ENV=production)."
        )
    with transaction.atomic():
        sync_role_groups()
        return sum(_ensure_user(demo, demo_agency(demo), reset_passwords) for demo in DEMO_USERS)


class Command(BaseCommand):
    help = "Create one demo user per role (development only; refused in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="set every demo user's password back to the published demo passphrase",
        )
        parser.add_argument(
            "--users-only",
            action="store_true",
            help="create the demo users but not the apps' demo records (which need the "
            "reference data loaded first)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        created = load_demo(reset_passwords=options["reset_passwords"])
        self.stdout.write(
            f"Demo users ready ({created} new, {len(DEMO_USERS) - created} already there). "
            "`despp demo-logins` lists them."
        )
        if options["users_only"]:
            return
        for config in django_apps.get_app_configs():
            summary = load_app_demo(config)
            if summary:
                self.stdout.write(f"{config.verbose_name}: {summary}")


def load_app_demo(config: AppConfig) -> str:
    """Run the app's `demo.load_demo_data()` when it has one (apps own their demo records and
    keep them idempotent); returns its one-line summary, or "" for an app without demo data."""
    module_name = f"{config.name}.demo"
    if importlib.util.find_spec(module_name) is None:
        return ""
    loader: Callable[[], str] = importlib.import_module(module_name).load_demo_data
    return loader()
