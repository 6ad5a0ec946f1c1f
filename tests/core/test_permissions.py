"""The role x action matrix: groups, can/require, the MFA sets, and docs/roles.md."""

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from despp.core.management.commands.sync_roles import generated_section
from despp.core.models import AccessAudit, AuditAction, AuditOutcome, User
from despp.core.permissions import (
    CJI_ROLES,
    MATRIX,
    MFA_ROLES,
    PRIVILEGED_ROLES,
    Action,
    Role,
    action_required,
    actions_of,
    can,
    django_permissions_for,
    matrix_markdown,
    mfa_required,
    require,
    roles_of,
    sync_role_groups,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "roles.md"


def _user_with(*roles: Role, username: str = "someone") -> User:
    user = User.objects.create(username=username)
    sync_role_groups()
    user.groups.set(Group.objects.filter(name__in=[role.value for role in roles]))
    return User.objects.get(pk=user.pk)  # fresh instance: no cached roles


def test_docs_roles_md_carries_exactly_the_generated_matrix():
    assert generated_section(DOCS.read_text(encoding="utf-8")) == matrix_markdown()


def test_every_role_and_every_action_appears_in_the_matrix():
    assert set(MATRIX) == set(Role)
    granted = set().union(*MATRIX.values())
    assert granted == set(Action), f"actions no role holds: {set(Action) - granted}"


@pytest.mark.django_db
def test_sync_roles_creates_one_group_per_role_and_a_second_run_changes_nothing():
    first = io.StringIO()
    call_command("sync_roles", stdout=first)
    assert f"Created {len(Role)} role group(s)" in first.getvalue()
    groups = set(Group.objects.values_list("name", flat=True))
    assert groups >= set(Role.values)
    memberships_before = {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.all()
    }
    second = io.StringIO()
    call_command("sync_roles", stdout=second)
    assert "Created" not in second.getvalue()
    assert Group.objects.count() == len(groups)
    assert {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.all()
    } == memberships_before


@pytest.mark.django_db
def test_role_groups_carry_the_django_permissions_their_actions_imply():
    sync_role_groups()
    admin_group = Group.objects.get(name=Role.SYSTEM_ADMIN.value)
    granted = {
        f"{app}.{code}"
        for app, code in admin_group.permissions.values_list("content_type__app_label", "codename")
    }
    assert granted == django_permissions_for(Role.SYSTEM_ADMIN)
    assert "core.change_user" in granted
    auditor = Group.objects.get(name=Role.AUDITOR.value)
    assert set(auditor.permissions.values_list("codename", flat=True)) == {
        "view_accessaudit",
        "view_event",
    }
    assert not Group.objects.get(name=Role.DISPATCHER.value).permissions.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_a_user_holding_one_role_may_do_exactly_what_the_matrix_grants_it(role):
    user = _user_with(role)
    for action in Action:
        assert can(user, action) == (action in MATRIX[role]), (role, action)


@pytest.mark.django_db
def test_a_user_holding_two_roles_may_do_what_either_allows():
    user = _user_with(Role.CALL_TAKER, Role.RECORDS_CLERK)
    assert actions_of(user) == MATRIX[Role.CALL_TAKER] | MATRIX[Role.RECORDS_CLERK]
    assert can(user, Action.CALL_CREATE) and can(user, Action.RECORDS_MANAGE)
    assert not can(user, Action.REPORT_APPROVE)


@pytest.mark.django_db
def test_anonymous_inactive_and_roleless_users_may_do_nothing():
    inactive = _user_with(Role.SUPERVISOR, username="gone")
    inactive.is_active = False
    roleless = _user_with(username="plain")
    for user in (AnonymousUser(), inactive, roleless, None):
        assert not any(can(user, action) for action in Action)


@pytest.mark.django_db
def test_a_superuser_without_a_role_is_granted_no_business_action():
    root = User.objects.create(username="root", is_superuser=True, is_staff=True)
    assert actions_of(root) == frozenset()
    assert not can(root, Action.AUDIT_READ)
    assert mfa_required(root)


@pytest.mark.django_db
def test_roles_are_read_in_one_query_and_cached_on_the_user(django_assert_num_queries):
    user = _user_with(Role.DISPATCHER)
    with django_assert_num_queries(1):
        for action in Action:
            can(user, action)
        roles_of(user)


@pytest.mark.django_db
def test_a_group_change_refreshes_the_cached_roles_and_is_audited_as_a_permission_change():
    user = _user_with(Role.CALL_TAKER)
    assert not can(user, Action.INCIDENT_DISPATCH)
    user.groups.add(Group.objects.get(name=Role.DISPATCHER.value))
    assert can(user, Action.INCIDENT_DISPATCH)
    entry = AccessAudit.objects.filter(action=AuditAction.PERMISSION_CHANGE).first()
    assert entry is not None
    assert entry.object_type == "user" and entry.object_id == str(user.pk)
    assert entry.detail == {"relation": "groups", "op": "add", "members": ["dispatcher"]}

    user.groups.clear()
    assert not can(user, Action.CALL_CREATE)
    cleared = AccessAudit.objects.filter(action=AuditAction.PERMISSION_CHANGE).first()
    assert cleared.detail["op"] == "clear"
    assert cleared.detail["members"] == ["call-taker", "dispatcher"]


@pytest.mark.django_db
def test_adding_a_user_from_the_group_side_is_audited_too():
    user = _user_with()
    Group.objects.get(name=Role.AUDITOR.value).user_set.add(user)
    entry = AccessAudit.objects.filter(action=AuditAction.PERMISSION_CHANGE).first()
    assert entry.object_type == "group"
    assert entry.detail == {"relation": "user_set", "op": "add", "members": ["someone"]}


@pytest.mark.django_db
def test_require_refuses_with_permission_denied_and_audits_the_refusal():
    user = _user_with(Role.TROOPER)
    require(user, Action.REPORT_WRITE)  # allowed: no exception, nothing recorded
    assert not AccessAudit.objects.filter(action=AuditAction.DENIED).exists()
    request = RequestFactory().post("/somewhere", REMOTE_ADDR="10.1.2.3")
    request.user = user
    with pytest.raises(PermissionDenied, match="Approve or return submitted reports"):
        require(user, Action.REPORT_APPROVE, request=request)
    denied = AccessAudit.objects.get(action=AuditAction.DENIED)
    assert denied.username == user.username
    assert denied.object_id == "report.approve"
    assert denied.outcome == AuditOutcome.FAILURE
    assert denied.ip == "10.1.2.3"


@pytest.mark.django_db
def test_action_required_sends_anonymous_to_sign_in_forbids_the_wrong_role_and_admits_the_right():
    @action_required(Action.LAB_RELEASE)
    def release(request: HttpRequest) -> HttpResponse:
        return HttpResponse("released")

    factory = RequestFactory()
    anonymous = factory.get("/x")
    anonymous.user = AnonymousUser()
    response = release(anonymous)
    assert response.status_code == 302 and "/staff/login/" in response["Location"]

    wrong = factory.get("/x")
    wrong.user = _user_with(Role.ANALYST, username="analyst")
    with pytest.raises(PermissionDenied):
        release(wrong)

    right = factory.get("/x")
    right.user = _user_with(Role.REVIEWER, username="reviewer")
    assert release(right).content == b"released"


def test_mfa_is_required_for_every_privileged_or_cji_role_and_for_the_minimum_the_brief_names():
    assert MFA_ROLES == PRIVILEGED_ROLES | CJI_ROLES
    assert {
        Role.SUPERVISOR,
        Role.AUDITOR,
        Role.SYSTEM_ADMIN,
        Role.ALERT_ORIGINATOR,
        Role.ACADEMY_ADMIN,
        Role.REVIEWER,
    } <= PRIVILEGED_ROLES
    # CJIS v6.0 IA-2(2): the people who touch 911 calls, incidents, reports and evidence too.
    assert {Role.CALL_TAKER, Role.DISPATCHER, Role.TROOPER, Role.ANALYST} <= MFA_ROLES
    assert set(Role) - MFA_ROLES == {Role.TRAINING_COORDINATOR}
