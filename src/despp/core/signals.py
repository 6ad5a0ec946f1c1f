"""Receivers that write the access audit for authentication and account events (CJIS 5.4.1.1):
log-on and log-off, failed log-ons, lockouts, account creation and deletion, role and permission
changes, password changes.

Account changes happen in the admin, in views and on the command line. Views and the admin wrap
their work in `acting(request)` so the receivers know who acted and from where; without it the
change is recorded as made by the system (the command line, a migration, the shell).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit
from despp.core.middleware import LOGOUT_REASON_ATTR, start_session_clock
from despp.core.models import AuditAction, AuditOutcome, User
from despp.core.permissions import forget_roles

_acting_request: ContextVar[HttpRequest | None] = ContextVar("despp_acting_request", default=None)

LOGIN_FACTORS_ATTR = "despp_login_factors"
NOTICE_ATTR = "despp_notice_acknowledged"
# Changes to these fields change what an account may do.
_PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "is_active")
_PRIVILEGE_BEFORE_ATTR = "_despp_privileges_before"


@contextmanager
def acting(request: HttpRequest) -> Iterator[None]:
    """Attribute account changes made inside the block to `request`'s user and address."""
    token = _acting_request.set(request)
    try:
        yield
    finally:
        _acting_request.reset(token)


def _record(action: AuditAction, **kwargs: Any) -> None:
    request = _acting_request.get()
    if request is None:
        kwargs.setdefault("username", "(system)")
    audit.record(action, request=request, **kwargs)


@receiver(user_logged_in, dispatch_uid="despp_audit_login")
def audit_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is None:
        return
    if hasattr(request, "session"):
        start_session_clock(request)
    detail = {"factors": getattr(request, LOGIN_FACTORS_ATTR, ["password"])}
    if getattr(request, NOTICE_ATTR, False):
        detail["system_use_notice"] = "acknowledged"
    audit.record(
        AuditAction.LOGIN,
        request=request,
        user=user,
        object_type="user",
        object_id=user.pk,
        detail=detail,
    )


@receiver(user_logged_out, dispatch_uid="despp_audit_logout")
def audit_logout(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if user is None:
        return
    reason = getattr(request, LOGOUT_REASON_ATTR, "user") if request is not None else "user"
    audit.record(
        AuditAction.LOGOUT,
        request=request,
        user=user,
        object_type="user",
        object_id=user.pk,
        detail={"reason": reason},
    )


@receiver(user_login_failed, dispatch_uid="despp_audit_login_failed")
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    detail: dict[str, Any] = {"factor": kwargs.get("factor", "password")}
    if request is not None and getattr(request, "axes_locked_out", False):
        detail["locked_out"] = True
    audit.record(
        AuditAction.LOGIN_FAILED,
        request=request,
        user=None,
        username=str(credentials.get("username") or "")[:150],
        outcome=AuditOutcome.FAILURE,
        detail=detail,
    )


@receiver(user_locked_out, dispatch_uid="despp_audit_lockout")
def audit_lockout(
    sender: Any, request: HttpRequest | None, username: str | None, **kwargs: Any
) -> None:
    audit.record(
        AuditAction.LOCKOUT,
        request=request,
        user=None,
        username=(username or "")[:150],
        object_type="user",
        outcome=AuditOutcome.FAILURE,
        detail={"failures": getattr(request, "axes_failures_since_start", None)},
    )


@receiver(pre_save, sender=User, dispatch_uid="despp_remember_privileges")
def remember_privileges(
    sender: Any, instance: User, update_fields: Any = None, **kwargs: Any
) -> None:
    if instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(_PRIVILEGE_FIELDS):
        return  # e.g. the last_login update at every sign-in: nothing to compare
    before = User.objects.filter(pk=instance.pk).values(*_PRIVILEGE_FIELDS).first()
    setattr(instance, _PRIVILEGE_BEFORE_ATTR, before)


@receiver(post_save, sender=User, dispatch_uid="despp_audit_user_saved")
def audit_user_saved(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if created:
        _record(
            AuditAction.CREATE,
            object_type="user",
            object_id=instance.pk,
            detail={"username": instance.get_username()},
        )
    before = getattr(instance, _PRIVILEGE_BEFORE_ATTR, None)
    if before is not None:
        delattr(instance, _PRIVILEGE_BEFORE_ATTR)
        changed = {
            field: {"from": before[field], "to": getattr(instance, field)}
            for field in _PRIVILEGE_FIELDS
            if before[field] != getattr(instance, field)
        }
        if changed:
            _record(
                AuditAction.PERMISSION_CHANGE,
                object_type="user",
                object_id=instance.pk,
                detail={"username": instance.get_username(), "fields": changed},
            )
    # set_password() leaves the raw value here until save() finishes (AbstractBaseUser.save).
    if getattr(instance, "_password", None) is not None:
        now = timezone.now()
        User.objects.filter(pk=instance.pk).update(password_changed_at=now)
        instance.password_changed_at = now
        if not created:
            _record(
                AuditAction.PASSWORD_CHANGE,
                object_type="user",
                object_id=instance.pk,
                detail={"username": instance.get_username()},
            )


@receiver(post_delete, sender=User, dispatch_uid="despp_audit_user_deleted")
def audit_user_deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    _record(
        AuditAction.DELETE,
        object_type="user",
        object_id=instance.pk,
        detail={"username": instance.get_username()},
    )


_M2M_OPS = {"post_add": "add", "post_remove": "remove", "pre_clear": "clear"}


def _names(model: Any, pks: Any) -> list[str]:
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    if model is User:
        return sorted(User.objects.filter(pk__in=pks).values_list("username", flat=True))
    return sorted(
        f"{app}.{code}"
        for app, code in model.objects.filter(pk__in=pks).values_list(
            "content_type__app_label", "codename"
        )
    )


def _audit_membership(relation: str, instance: Any, action: str, model: Any, pk_set: Any) -> None:
    op = _M2M_OPS.get(action)
    if op is None:
        return
    if op == "clear":
        # Before the clear, the rows about to go are still there to name.
        pk_set = set(getattr(instance, relation).values_list("pk", flat=True))
    if not pk_set:
        return
    if isinstance(instance, User):
        forget_roles(instance)
    owner = type(instance).__name__.lower()
    _record(
        AuditAction.PERMISSION_CHANGE,
        object_type=owner,
        object_id=instance.pk,
        detail={"relation": relation, "op": op, "members": _names(model, pk_set)},
    )


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="despp_audit_user_groups")
def audit_user_groups(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any
) -> None:
    relation = "groups" if not reverse else "user_set"
    _audit_membership(relation, instance, action, model, pk_set)


@receiver(
    m2m_changed, sender=User.user_permissions.through, dispatch_uid="despp_audit_user_permissions"
)
def audit_user_permissions(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any
) -> None:
    relation = "user_permissions" if not reverse else "user_set"
    _audit_membership(relation, instance, action, model, pk_set)


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="despp_audit_group_perms")
def audit_group_permissions(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any
) -> None:
    relation = "permissions" if not reverse else "group_set"
    _audit_membership(relation, instance, action, model, pk_set)
