"""`despp load-demo` and `despp demo-logins`: one demo user per role, development only."""

import io

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from despp.core.management.commands.load_demo import (
    DEMO_PASSWORD,
    DEMO_TOTP_KEY,
    DEMO_TOTP_SECRET,
    DEMO_USERS,
    DemoUser,
    demo_agency,
)
from despp.core.models import AccessAudit, User
from despp.core.permissions import MFA_ROLES, Role, roles_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_hashing")]

BRIEF_NAMES = {
    "calltaker", "dispatcher", "trooper", "supervisor", "records", "labintake", "analyst",
    "reviewer", "labmanager", "coordinator", "academy", "emergency", "alerts", "auditor",
    "admin",
}  # fmt: skip


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", "--users-only", stdout=out)
    return out.getvalue()


def test_load_demo_creates_one_user_per_role_in_a_sensible_agency(agencies):
    assert f"{len(BRIEF_NAMES)} new" in load_demo()
    users = {
        user.username: user
        for user in User.objects.select_related("agency").filter(username__in=BRIEF_NAMES)
    }
    assert set(users) == BRIEF_NAMES
    assert {role for user in users.values() for role in roles_of(user)} == set(Role)
    assert users["trooper"].agency.code == "csp-troop-c"
    assert users["calltaker"].agency.kind == "psap"
    lab_staff = ("labintake", "analyst", "reviewer", "labmanager")
    assert {users[name].agency.code for name in lab_staff} == {"dss-lab"}
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert not any(users[name].is_superuser for name in BRIEF_NAMES - {"admin"})


def test_load_demo_gives_the_published_authenticator_to_exactly_those_who_need_one(agencies):
    load_demo()
    with_device = set(
        TOTPDevice.objects.filter(key=DEMO_TOTP_KEY.hex(), confirmed=True).values_list(
            "user__username", flat=True
        )
    )
    needing = {demo.username for demo in DEMO_USERS if demo.role in MFA_ROLES}
    assert with_device == needing == BRIEF_NAMES - {"coordinator"}


def test_a_second_load_demo_changes_nothing(agencies):
    load_demo()
    audit_rows = AccessAudit.objects.count()
    users = User.objects.count()  # the demo users, and any people an app's demo data needs
    passwords = dict(User.objects.values_list("username", "password"))
    assert f"0 new, {len(BRIEF_NAMES)} already there" in load_demo()
    assert User.objects.count() == users
    assert TOTPDevice.objects.count() == len(BRIEF_NAMES) - 1
    assert dict(User.objects.values_list("username", "password")) == passwords
    assert AccessAudit.objects.count() == audit_rows  # no role or password churn to record


def test_load_demo_is_refused_in_production(agencies, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refused in production"):
        load_demo()
    assert not User.objects.exists()


def test_a_demo_agency_missing_from_the_reference_data_says_to_load_it_first(db):
    lost = DemoUser("lost", Role.TROOPER, "Lost", ("csp-troop-z",))
    with pytest.raises(CommandError, match=r"csp-troop-z.*despp load-reference"):
        demo_agency(lost)


@pytest.mark.parametrize("username", sorted(BRIEF_NAMES))
def test_the_demo_password_passes_the_password_validators(username):
    validate_password(DEMO_PASSWORD, User(username=username, first_name="Demo", last_name=username))


def test_a_demo_user_signs_in_with_the_published_password_and_authenticator_code(agencies):
    load_demo()
    client = Client()
    step = client.post(
        "/staff/login/", {"username": "dispatcher", "password": DEMO_PASSWORD, "acknowledge": "on"}
    )
    assert step["Location"].startswith("/staff/mfa/verify/")
    done = client.post("/staff/mfa/verify/", {"code": f"{totp(DEMO_TOTP_KEY):06d}"})
    assert done["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_demo_logins_prints_every_demo_user_with_role_agency_password_and_secret(agencies):
    load_demo()
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    for demo in DEMO_USERS:
        assert demo.username in text and demo.role.label in text
    assert DEMO_PASSWORD in text and DEMO_TOTP_SECRET in text
    assert "not required" in text  # the training coordinator


def test_demo_logins_prints_nothing_secret_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError):
        call_command("demo_logins", stdout=io.StringIO())
