"""The admin follows the role matrix: accounts and tokens for user.manage, the audit and event
log read-only for audit.read (and nobody can add, change or delete them), roles read-only."""

import pytest
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from despp.core import audit, eventlog, tokens
from despp.core.models import AccessAudit, ApiToken, AuditAction, AuditOutcome, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(admin: User) -> User:
    """The system-admin persona with admin-site access (not a superuser)."""
    admin.is_staff = True
    admin.save()
    return admin


@pytest.fixture
def staff_auditor(auditor: User) -> User:
    auditor.is_staff = True
    auditor.save()
    return auditor


@pytest.fixture
def superuser(agencies) -> User:
    return User.objects.create(username="root", is_staff=True, is_superuser=True)


def test_nobody_can_add_change_or_delete_audit_or_event_rows_not_even_a_superuser(
    superuser, staff_auditor, sign_in
):
    entry = audit.record(AuditAction.READ, username="someone", object_type="report")
    event = eventlog.append("report:1", "report.created", {})
    for user in (superuser, staff_auditor):
        client = sign_in(user)
        for url in (
            "/admin/core/accessaudit/add/",
            f"/admin/core/accessaudit/{entry.pk}/delete/",
            "/admin/core/event/add/",
            f"/admin/core/event/{event.pk}/delete/",
        ):
            assert client.post(url, {"post": "yes"}).status_code == 403, (user, url)
    assert AccessAudit.objects.filter(pk=entry.pk).exists()


def test_an_auditor_reads_the_audit_in_the_admin_and_the_look_is_itself_audited(
    staff_auditor, sign_in
):
    audit.record(AuditAction.READ, username="someone", object_type="report", object_id="7")
    client = sign_in(staff_auditor)
    response = client.get("/admin/core/accessaudit/?q=someone")
    assert response.status_code == 200
    assert b"someone" in response.content
    look = AccessAudit.objects.filter(object_type="access_audit").get()
    assert look.action == AuditAction.READ and look.username == "auditor"
    assert look.detail == {"via": "admin", "query": "q=someone"}
    assert client.get("/admin/core/event/").status_code == 200


def test_a_system_administrator_cannot_read_the_audit_and_the_attempt_is_recorded(
    staff_admin, sign_in
):
    response = sign_in(staff_admin).get("/admin/core/accessaudit/")
    assert response.status_code == 403
    denied = AccessAudit.objects.get(object_type="access_audit")
    assert denied.action == AuditAction.DENIED and denied.outcome == AuditOutcome.FAILURE


def test_the_token_admin_never_shows_a_digest_and_revokes_on_request(staff_admin, trooper, sign_in):
    issued = tokens.issue_token(trooper, "mdt")
    client = sign_in(staff_admin)
    page = client.get(f"/admin/core/apitoken/{issued.token.pk}/change/")
    assert page.status_code == 200
    assert issued.token.digest.encode() not in page.content
    assert issued.token.prefix.encode() in page.content
    assert client.get("/admin/core/apitoken/add/").status_code == 403
    response = client.post(
        "/admin/core/apitoken/", {"action": "revoke", "_selected_action": [issued.token.pk]}
    )
    assert response.status_code == 302
    assert ApiToken.objects.get().revoked_at is not None
    revoked = AccessAudit.objects.get(action=AuditAction.TOKEN, detail__op="revoke")
    assert revoked.username == "admin"


def _change_form(user: User, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": "",
        "badge_number": "",
        "agency": user.agency_id or "",
        "is_active": "on",
        "groups": list(user.groups.values_list("pk", flat=True)),
    }
    data.update(overrides)
    return data


def test_a_role_granted_in_the_admin_is_audited_with_the_administrator_as_actor(
    staff_admin, norole, sign_in
):
    dispatcher_group = Group.objects.get(name="dispatcher")
    response = sign_in(staff_admin).post(
        f"/admin/core/user/{norole.pk}/change/",
        _change_form(norole, groups=[dispatcher_group.pk]),
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 302, response.content[:2000]
    change = AccessAudit.objects.get(action=AuditAction.PERMISSION_CHANGE, object_id=norole.pk)
    assert change.username == "admin" and change.ip == "10.9.8.7"
    assert change.detail == {"relation": "groups", "op": "add", "members": ["dispatcher"]}


def test_only_a_superuser_makes_superusers(staff_admin, norole, sign_in):
    response = sign_in(staff_admin).post(
        f"/admin/core/user/{norole.pk}/change/",
        _change_form(norole, is_superuser="on", is_staff="on"),
    )
    assert response.status_code == 302
    norole.refresh_from_db()
    assert not norole.is_superuser and not norole.is_staff


def test_accounts_are_deactivated_never_deleted(staff_admin, superuser, norole, sign_in):
    for user in (staff_admin, superuser):
        response = sign_in(user).post(f"/admin/core/user/{norole.pk}/delete/", {"post": "yes"})
        assert response.status_code == 403
    assert User.objects.filter(pk=norole.pk).exists()


def test_roles_are_read_only_in_the_admin(staff_admin, superuser, sign_in):
    group = Group.objects.get(name="auditor")
    for user in (staff_admin, superuser):
        client = sign_in(user)
        assert client.get(f"/admin/auth/group/{group.pk}/change/").status_code == 200
        assert client.post("/admin/auth/group/add/", {"name": "x"}).status_code == 403
    assert not Group.objects.filter(name="x").exists()


def test_authenticator_secrets_are_not_in_the_admin_and_an_admin_can_reset_them(
    staff_admin, superuser, trooper, sign_in
):
    TOTPDevice.objects.create(user=trooper, name="phone", confirmed=True)
    assert sign_in(superuser).get("/admin/otp_totp/totpdevice/").status_code == 404
    response = sign_in(staff_admin).post(
        "/admin/core/user/", {"action": "reset_two_step", "_selected_action": [trooper.pk]}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=trooper).exists()
    reset = AccessAudit.objects.get(object_type="mfa_device")
    assert reset.action == AuditAction.DELETE and reset.username == "admin"


def test_people_without_user_manage_cannot_open_accounts_in_the_admin(staff_auditor, sign_in):
    assert sign_in(staff_auditor).get("/admin/core/user/").status_code == 403


def test_opening_a_person_or_token_in_the_admin_is_audited(staff_admin, trooper, sign_in):
    issued = tokens.issue_token(trooper, "mdt")
    client = sign_in(staff_admin)
    assert client.get("/admin/core/user/?q=trooper").status_code == 200
    assert client.get(f"/admin/core/user/{trooper.pk}/change/").status_code == 200
    assert client.get(f"/admin/core/apitoken/{issued.token.pk}/change/").status_code == 200
    looks = AccessAudit.objects.filter(action=AuditAction.READ, username="admin")
    assert {(look.object_type, look.object_id) for look in looks} == {
        ("user", ""),
        ("user", str(trooper.pk)),
        ("api_token", str(issued.token.pk)),
    }
