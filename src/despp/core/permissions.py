"""Roles, actions and the one role x action matrix every part of the platform checks.

A role is a Django group named by `Role.value`; `despp sync-roles` creates them. What a role may
do is declared once, in `MATRIX`, and read through `can()` / `require()`. Django's own model
permissions are derived from the matrix (`DJANGO_PERMISSIONS`) so the admin agrees with it.
`docs/roles.md` carries a generated copy of the tables below; a test fails when they differ.

Being a superuser grants no business action: the matrix is the only source of "may do", so a
system administrator cannot, for example, read the access audit they are audited by.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse

from despp.core import audit
from despp.core.models import AuditAction, AuditOutcome


class Role(models.TextChoices):
    CALL_TAKER = "call-taker", "Call-taker"
    DISPATCHER = "dispatcher", "Dispatcher"
    TROOPER = "trooper", "Trooper"
    SUPERVISOR = "supervisor", "Supervisor"
    RECORDS_CLERK = "records-clerk", "Records clerk"
    LAB_INTAKE = "lab-intake", "Laboratory evidence intake"
    ANALYST = "analyst", "Forensic analyst"
    REVIEWER = "reviewer", "Forensic reviewer"
    TRAINING_COORDINATOR = "training-coordinator", "Training coordinator"
    ACADEMY_ADMIN = "academy-admin", "POST / fire academy administrator"
    EMERGENCY_MANAGER = "emergency-manager", "Emergency manager"
    ALERT_ORIGINATOR = "alert-originator", "Alert originator"
    AUDITOR = "auditor", "Auditor"
    SYSTEM_ADMIN = "system-admin", "System administrator"


class Action(models.TextChoices):
    CALL_CREATE = "call.create", "Take a 911 call and open its record"
    CALL_VIEW = "call.view", "View 911 calls"
    INCIDENT_VIEW = "incident.view", "View CAD incidents and their timelines"
    INCIDENT_UPDATE = "incident.update", "Add narrative and change an incident's disposition"
    INCIDENT_DISPATCH = "incident.dispatch", "Assign and release units on incidents"
    UNIT_STATUS = "unit.status", "Change a unit's status"
    UNIT_MANAGE = "unit.manage", "Create, equip and retire units"
    REPORT_VIEW = "report.view", "View case and crash reports"
    REPORT_WRITE = "report.write", "Write and submit case and crash reports"
    REPORT_APPROVE = "report.approve", "Approve or return submitted reports"
    RECORDS_MANAGE = "records.manage", "Maintain persons and property; submit NIBRS"
    EVIDENCE_VIEW = "evidence.view", "View evidence submissions and chain of custody"
    EVIDENCE_SUBMIT = "evidence.submit", "Submit evidence to the laboratory"
    EVIDENCE_INTAKE = "evidence.intake", "Receive evidence at the laboratory"
    EVIDENCE_TRANSFER = "evidence.transfer", "Transfer custody of evidence items"
    LAB_ANALYZE = "lab.analyze", "Perform laboratory analysis and record results"
    LAB_REVIEW = "lab.review", "Technically review laboratory results"
    LAB_RELEASE = "lab.release", "Release laboratory reports"
    COURSE_MANAGE = "course.manage", "Schedule courses, sessions and exams; record results"
    CREDENTIAL_VIEW = "credential.view", "View training records and certifications"
    CREDENTIAL_MANAGE = "credential.manage", "Issue, renew, suspend and revoke certifications"
    ACCREDITATION_MANAGE = "accreditation.manage", "Assess agencies and award accreditation"
    EOC_VIEW = "eoc.view", "View EOC activations, sitreps, resources and shelters"
    EOC_MANAGE = "eoc.manage", "Run the EOC: activations, sitreps, resources, shelters"
    ALERT_ORIGINATE = "alert.originate", "Draft and submit public alerts (CAP)"
    ALERT_APPROVE = "alert.approve", "Approve and issue public alerts (CAP)"
    AUDIT_READ = "audit.read", "Search the access audit and verify the event log"
    REFERENCE_EDIT = "reference.edit", "Correct reference data: towns, troops, PSAPs, agencies"
    USER_MANAGE = "user.manage", "Manage user accounts, roles and API tokens"
    STATEWIDE_VIEW = "statewide.view", "See every agency's records, not only one's own"


A = Action
_DISPATCH_FLOOR = (A.CALL_VIEW, A.INCIDENT_VIEW, A.INCIDENT_UPDATE, A.UNIT_STATUS)

MATRIX: dict[Role, frozenset[Action]] = {
    Role.CALL_TAKER: frozenset({A.CALL_CREATE, A.CALL_VIEW, A.INCIDENT_VIEW}),
    Role.DISPATCHER: frozenset({A.CALL_CREATE, *_DISPATCH_FLOOR, A.INCIDENT_DISPATCH}),
    Role.TROOPER: frozenset(
        {*_DISPATCH_FLOOR, A.REPORT_VIEW, A.REPORT_WRITE, A.EVIDENCE_VIEW, A.EVIDENCE_SUBMIT}
    ),
    Role.SUPERVISOR: frozenset(
        {
            *_DISPATCH_FLOOR,
            A.INCIDENT_DISPATCH,
            A.UNIT_MANAGE,
            A.REPORT_VIEW,
            A.REPORT_WRITE,
            A.REPORT_APPROVE,
            A.EVIDENCE_VIEW,
            A.EVIDENCE_SUBMIT,
        }
    ),
    Role.RECORDS_CLERK: frozenset({A.CALL_VIEW, A.INCIDENT_VIEW, A.REPORT_VIEW, A.RECORDS_MANAGE}),
    Role.LAB_INTAKE: frozenset({A.EVIDENCE_VIEW, A.EVIDENCE_INTAKE, A.EVIDENCE_TRANSFER}),
    Role.ANALYST: frozenset({A.EVIDENCE_VIEW, A.EVIDENCE_TRANSFER, A.LAB_ANALYZE}),
    Role.REVIEWER: frozenset({A.EVIDENCE_VIEW, A.LAB_REVIEW, A.LAB_RELEASE}),
    Role.TRAINING_COORDINATOR: frozenset({A.COURSE_MANAGE, A.CREDENTIAL_VIEW}),
    Role.ACADEMY_ADMIN: frozenset(
        {
            A.COURSE_MANAGE,
            A.CREDENTIAL_VIEW,
            A.CREDENTIAL_MANAGE,
            A.ACCREDITATION_MANAGE,
            A.STATEWIDE_VIEW,
        }
    ),
    Role.EMERGENCY_MANAGER: frozenset(
        {A.EOC_VIEW, A.EOC_MANAGE, A.ALERT_APPROVE, A.STATEWIDE_VIEW}
    ),
    Role.ALERT_ORIGINATOR: frozenset({A.EOC_VIEW, A.ALERT_ORIGINATE}),
    Role.AUDITOR: frozenset({A.AUDIT_READ, A.STATEWIDE_VIEW}),
    Role.SYSTEM_ADMIN: frozenset({A.USER_MANAGE, A.REFERENCE_EDIT, A.STATEWIDE_VIEW}),
}

# CJIS v6.0 IA-2(1): MFA for privileged accounts. An account is privileged when it can approve
# or release what others wrote, publish to the public, grant or revoke credentials, administer
# accounts or reference data, read the audit, or see beyond its own agency.
PRIVILEGED_ACTIONS: frozenset[Action] = frozenset(
    {
        A.REPORT_APPROVE,
        A.UNIT_MANAGE,
        A.LAB_REVIEW,
        A.LAB_RELEASE,
        A.CREDENTIAL_MANAGE,
        A.ACCREDITATION_MANAGE,
        A.ALERT_ORIGINATE,
        A.ALERT_APPROVE,
        A.AUDIT_READ,
        A.REFERENCE_EDIT,
        A.USER_MANAGE,
        A.STATEWIDE_VIEW,
    }
)
# CJIS v6.0 IA-2(2): MFA also for non-privileged accounts that reach Criminal Justice
# Information: 911 calls, CAD incidents, case reports, evidence and lab work, and the audit
# (whose entries name the CJI records that were touched).
CJI_ACTIONS: frozenset[Action] = frozenset(
    {
        A.CALL_CREATE,
        A.CALL_VIEW,
        A.INCIDENT_VIEW,
        A.INCIDENT_UPDATE,
        A.INCIDENT_DISPATCH,
        A.UNIT_STATUS,
        A.REPORT_VIEW,
        A.REPORT_WRITE,
        A.REPORT_APPROVE,
        A.RECORDS_MANAGE,
        A.EVIDENCE_VIEW,
        A.EVIDENCE_SUBMIT,
        A.EVIDENCE_INTAKE,
        A.EVIDENCE_TRANSFER,
        A.LAB_ANALYZE,
        A.LAB_REVIEW,
        A.LAB_RELEASE,
        A.AUDIT_READ,
    }
)
PRIVILEGED_ROLES: frozenset[Role] = frozenset(
    role for role, actions in MATRIX.items() if actions & PRIVILEGED_ACTIONS
)
CJI_ROLES: frozenset[Role] = frozenset(
    role for role, actions in MATRIX.items() if actions & CJI_ACTIONS
)
MFA_ROLES: frozenset[Role] = PRIVILEGED_ROLES | CJI_ROLES

# Django model permissions granted to a role's group because the role holds the action; they
# let the stock admin agree with the matrix (our own ModelAdmins also check `can`).
DJANGO_PERMISSIONS: dict[Action, tuple[str, ...]] = {
    A.USER_MANAGE: (
        "core.view_user",
        "core.add_user",
        "core.change_user",
        "core.view_agency",
        "core.view_apitoken",
        "core.change_apitoken",
        "auth.view_group",
    ),
    A.REFERENCE_EDIT: (
        "core.view_agency",
        "core.add_agency",
        "core.change_agency",
        "core.view_town",
        "core.change_town",
        "core.view_troop",
        "core.change_troop",
        "core.view_county",
    ),
    A.AUDIT_READ: ("core.view_accessaudit", "core.view_event"),
}

_ROLES_CACHE = "_despp_roles"


def roles_of(user: Any) -> frozenset[Role]:
    """The user's roles, read once per user object (one query) and cached on it."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _ROLES_CACHE, None)
    if cached is None:
        known = set(Role.values)
        names = user.groups.filter(name__in=known).values_list("name", flat=True)
        cached = frozenset(Role(name) for name in names)
        setattr(user, _ROLES_CACHE, cached)
    return cached


def forget_roles(user: Any) -> None:
    """Drop the cached roles after the user's groups change."""
    if hasattr(user, _ROLES_CACHE):
        delattr(user, _ROLES_CACHE)


def actions_for(roles: Iterable[Role]) -> frozenset[Action]:
    granted: set[Action] = set()
    for role in roles:
        granted |= MATRIX[role]
    return frozenset(granted)


def actions_of(user: Any) -> frozenset[Action]:
    return actions_for(roles_of(user))


def can(user: Any, action: Action) -> bool:
    return action in actions_of(user)


def require(user: Any, action: Action, *, request: HttpRequest | None = None) -> None:
    """Raise PermissionDenied unless the user may do `action`; the refusal is audited."""
    if can(user, action):
        return
    audit.record(
        AuditAction.DENIED,
        request=request,
        user=user,
        object_type="action",
        object_id=action.value,
        outcome=AuditOutcome.FAILURE,
    )
    raise PermissionDenied(f"Your roles do not allow: {action.label}.")


def mfa_required(user: Any) -> bool:
    """Whether this account must pass a second factor (CJIS v6.0 IA-2(1) and IA-2(2)).

    Superusers and admin-site (staff) accounts are privileged by definition.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or user.is_staff:
        return True
    return bool(roles_of(user) & MFA_ROLES)


View = Callable[..., HttpResponse]


def action_required(action: Action) -> Callable[[View], View]:
    """View decorator: signed in (else to the login page) and holding `action` (else 403)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            require(request.user, action, request=request)
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator


def matrix_markdown() -> str:
    """The matrix as Markdown tables; docs/roles.md embeds exactly this text."""
    roles = list(Role)
    lines = [
        "| action | meaning | " + " | ".join(role.value for role in roles) + " |",
        "| --- | --- | " + " | ".join(":-:" for _ in roles) + " |",
    ]
    for action in Action:
        marks = " | ".join("x" if action in MATRIX[role] else "" for role in roles)
        lines.append(f"| `{action.value}` | {action.label} | {marks} |")
    lines += [
        "",
        "| role | group name | privileged | reaches CJI | MFA required |",
        "| --- | --- | :-: | :-: | :-: |",
    ]
    for role in roles:
        flags = [role in PRIVILEGED_ROLES, role in CJI_ROLES, role in MFA_ROLES]
        cells = " | ".join("yes" if flag else "no" for flag in flags)
        lines.append(f"| {role.label} | `{role.value}` | {cells} |")
    return "\n".join(lines) + "\n"


def django_permissions_for(role: Role) -> set[str]:
    return {perm for action in MATRIX[role] for perm in DJANGO_PERMISSIONS.get(action, ())}


def sync_role_groups() -> list[str]:
    """Create one group per role and give it the Django permissions its actions imply.

    Idempotent: running it again changes nothing. Returns the names of groups it created.
    """
    created: list[str] = []
    with transaction.atomic():
        for role in Role:
            group, was_created = Group.objects.get_or_create(name=role.value)
            if was_created:
                created.append(role.value)
            wanted = django_permissions_for(role)
            perms = Permission.objects.filter(
                content_type__app_label__in={name.split(".")[0] for name in wanted}
            ).select_related("content_type")
            by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in perms}
            missing = wanted - by_name.keys()
            if missing:
                raise LookupError(f"permissions {sorted(missing)} do not exist (run migrate)")
            group.permissions.set([by_name[name] for name in wanted])
    return created
