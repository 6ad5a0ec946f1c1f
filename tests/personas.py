"""Fixed personas per role and agency, and the fixtures that hand them to tests.

Every persona is a user with one role in one agency of a small, fixed agency tree (the same
codes `despp load-reference` ships). A permission-matrix test walks four columns: anonymous,
`norole` (signed in, no permission), the persona holding the permission, and the same role in
another agency (`trooper_f`, `dispatcher_w`, …).

    def test_dispatcher_sees_the_console(dispatcher, sign_in):
        response = sign_in(dispatcher).get("/staff/")

`sign_in(user)` returns a Django test client signed in with the second factor already passed;
`sign_in(user, mfa=False)` leaves it owed (the MFA middleware then redirects staff pages).
Persona users have no usable password (hashing is slow); give one with `user.set_password()`
where a test signs in through the form.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from despp.core.models import Agency, AgencyKind, User
from despp.core.permissions import Role, sync_role_groups

# code, name, kind, parent code
AGENCY_TREE: tuple[tuple[str, str, AgencyKind, str | None], ...] = (
    ("despp", "Department of Emergency Services and Public Protection", AgencyKind.DEPARTMENT,
     None),
    ("csp", "Connecticut State Police", AgencyKind.DIVISION, "despp"),
    ("csp-troop-c", "State Police Troop C", AgencyKind.TROOP, "csp"),
    ("csp-troop-f", "State Police Troop F", AgencyKind.TROOP, "csp"),
    ("dset", "Statewide Emergency Telecommunications", AgencyKind.DIVISION, "despp"),
    ("psap-csp-eastern", "CSP Eastern District Dispatch", AgencyKind.PSAP, "csp"),
    ("psap-csp-western", "CSP Western District Dispatch", AgencyKind.PSAP, "csp"),
    ("dss", "Division of Scientific Services", AgencyKind.DIVISION, "despp"),
    ("dss-lab", "Forensic Science Laboratory", AgencyKind.LAB, "dss"),
    ("post", "Police Officer Standards and Training Council", AgencyKind.DIVISION, "despp"),
    ("post-academy", "Connecticut Police Academy", AgencyKind.ACADEMY, "post"),
    ("cfpc", "Commission on Fire Prevention and Control", AgencyKind.DIVISION, "despp"),
    ("fire-academy", "Connecticut Fire Academy", AgencyKind.ACADEMY, "cfpc"),
    ("demhs", "Emergency Management and Homeland Security", AgencyKind.DIVISION, "despp"),
    ("pd-hartford", "Hartford Police Department", AgencyKind.MUNICIPAL_POLICE, None),
)  # fmt: skip


@dataclass(frozen=True)
class Persona:
    username: str
    role: Role | None
    agency: str | None


PERSONAS: dict[str, Persona] = {
    persona.username: persona
    for persona in (
        Persona("calltaker", Role.CALL_TAKER, "psap-csp-eastern"),
        Persona("dispatcher", Role.DISPATCHER, "psap-csp-eastern"),
        Persona("dispatcher_w", Role.DISPATCHER, "psap-csp-western"),
        Persona("trooper", Role.TROOPER, "csp-troop-c"),
        Persona("trooper_f", Role.TROOPER, "csp-troop-f"),
        Persona("supervisor", Role.SUPERVISOR, "csp-troop-c"),
        Persona("supervisor_f", Role.SUPERVISOR, "csp-troop-f"),
        Persona("records", Role.RECORDS_CLERK, "csp"),
        Persona("labintake", Role.LAB_INTAKE, "dss-lab"),
        Persona("analyst", Role.ANALYST, "dss-lab"),
        Persona("reviewer", Role.REVIEWER, "dss-lab"),
        Persona("coordinator", Role.TRAINING_COORDINATOR, "post-academy"),
        Persona("coordinator_fire", Role.TRAINING_COORDINATOR, "fire-academy"),
        Persona("academy", Role.ACADEMY_ADMIN, "post"),
        Persona("emergency", Role.EMERGENCY_MANAGER, "demhs"),
        Persona("alerts", Role.ALERT_ORIGINATOR, "demhs"),
        Persona("auditor", Role.AUDITOR, "despp"),
        Persona("admin", Role.SYSTEM_ADMIN, "despp"),
        Persona("norole", None, "csp-troop-c"),
    )
}


def ensure_agencies() -> dict[str, Agency]:
    """The fixed agency tree (reusing rows `load-reference` may already have created)."""
    agencies: dict[str, Agency] = {}
    for code, name, kind, parent in AGENCY_TREE:
        agencies[code], _ = Agency.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "parent": agencies[parent] if parent else None},
        )
    return agencies


def make_persona(name: str) -> User:
    persona = PERSONAS[name]
    agencies = ensure_agencies()
    sync_role_groups()
    user, _ = User.objects.get_or_create(
        username=persona.username,
        defaults={
            "first_name": "Test",
            "last_name": persona.username.title(),
            "agency": agencies[persona.agency] if persona.agency else None,
        },
    )
    if persona.role is not None:
        user.groups.add(Group.objects.get(name=persona.role.value))
    return user


def signed_in_client(user: User, *, mfa: bool = True) -> Client:
    client = Client()
    client.force_login(user)
    if mfa:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="persona authenticator", defaults={"confirmed": True}
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def agencies(db: Any) -> dict[str, Agency]:
    return ensure_agencies()


@pytest.fixture
def persona(db: Any) -> Callable[[str], User]:
    """`persona("trooper_f")`: any persona by name."""
    return make_persona


@pytest.fixture
def sign_in(db: Any) -> Callable[..., Client]:
    """`sign_in(user, mfa=True)`: a test client signed in as `user`."""
    return signed_in_client


def _persona_fixture(name: str) -> Any:
    @pytest.fixture(name=name)
    def fixture(db: Any) -> User:
        return make_persona(name)

    fixture.__doc__ = f"The {name!r} persona ({PERSONAS[name]})."
    return fixture


# One fixture per persona, named after it (`dispatcher`, `trooper_f`, `norole`, …).
for _name in PERSONAS:
    globals()[f"persona_{_name}"] = _persona_fixture(_name)


@pytest.fixture
def fast_hashing(settings: Any) -> None:
    """Tests that sign in through the form hash many passwords; a weak hasher keeps them quick.

    Test-only: production keeps Django's PBKDF2 (ASVS 11.4.2).
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
