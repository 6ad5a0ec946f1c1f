"""Admin for agencies, users, API tokens, the event log and the access audit.

What the admin lets a person do follows the role matrix: `user.manage` runs accounts and tokens,
`reference.edit` corrects agencies, `audit.read` reads the event log and the access audit (which
nobody can add to, change or delete here). Roles themselves are declared in code
(core/permissions.py), so groups are read-only. Accounts are deactivated, never deleted: the
audit trail refers to them. Every account change is attributed to the admin who made it.
"""

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp.plugins.otp_totp.models import TOTPDevice

from despp.core import audit, tokens
from despp.core.models import (
    AccessAudit,
    Agency,
    ApiToken,
    AuditAction,
    AuditOutcome,
    Event,
    User,
)
from despp.core.permissions import Action, can, forget_roles
from despp.core.signals import acting


def _may(request: HttpRequest, action: Action) -> bool:
    return bool(request.user.is_superuser) or can(request.user, action)


def _sign_in_first(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
    """The admin has no sign-in page of its own: staff sign in (notice, lockout, MFA) once."""
    target = request.GET.get("next") or reverse("admin:index")
    return HttpResponseRedirect(f"{reverse('core:login')}?{urlencode({'next': target})}")


admin.site.login = _sign_in_first  # type: ignore[method-assign]
# Authenticator secrets are never shown to anyone; an admin resets a user's device instead.
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


class AuditedReadsMixin(admin.ModelAdmin):
    """Non-public records: every list or record page an admin opens is itself audited."""

    audit_object_type = ""  # the record type the access audit names, as services name it

    def _audit_read(self, request: HttpRequest, object_id: str = "") -> None:
        allowed = self.has_view_permission(request)
        audit.record(
            AuditAction.READ if allowed else AuditAction.DENIED,
            request=request,
            object_type=self.audit_object_type,
            object_id=object_id,
            outcome=AuditOutcome.SUCCESS if allowed else AuditOutcome.FAILURE,
            detail={"via": "admin", "query": request.GET.urlencode()[:500]},
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        self._audit_read(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        self._audit_read(request, object_id)
        return super().change_view(request, object_id, *args, **kwargs)


class ReadOnlyAuditAdmin(AuditedReadsMixin):
    """Append-only records: readable by auditors, and every look at them is itself audited."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(request.user, Action.AUDIT_READ)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "parent", "provenance", "active")
    list_filter = ("kind", "active", "provenance")
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    raw_id_fields = ("town",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may(request, Action.REFERENCE_EDIT) or _may(request, Action.USER_MANAGE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may(request, Action.REFERENCE_EDIT)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may(request, Action.REFERENCE_EDIT)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # towns, users and records point at agencies; retire one with `active`


@admin.register(User)
class UserAdmin(AuditedReadsMixin, DjangoUserAdmin):
    audit_object_type = "user"
    list_display = ("username", "last_name", "first_name", "agency", "role_list", "is_active")
    list_filter = ("is_active", "groups", "agency__kind", "is_staff")
    list_select_related = ("agency",)
    search_fields = ("username", "first_name", "last_name", "email", "badge_number")
    autocomplete_fields = ("agency",)
    readonly_fields = ("last_login", "date_joined", "password_changed_at")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email", "badge_number", "agency")}),
        ("Access", {"fields": ("is_active", "groups", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined", "password_changed_at")}),
    )
    add_fieldsets = ((None, {"fields": ("username", "agency", "password1", "password2")}),)
    actions = ("release_lockout", "reset_two_step")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="roles")
    def role_list(self, obj: User) -> str:
        return ", ".join(sorted(group.name for group in obj.groups.all()))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only a superuser makes superusers or admin-site staff.
            fields += ("is_superuser", "is_staff")
        return fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may(request, Action.USER_MANAGE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may(request, Action.USER_MANAGE)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may(request, Action.USER_MANAGE)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead; the audit trail refers to the account

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with acting(request):
            return super().changeform_view(request, *args, **kwargs)

    def user_change_password(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with acting(request):
            return super().user_change_password(request, *args, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        forget_roles(form.instance)

    @admin.action(description="Release the lockout of the selected accounts")
    def release_lockout(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        released = 0
        for user in queryset:
            if AxesProxyHandler.reset_attempts(username=user.get_username()):
                released += 1
                audit.record(
                    AuditAction.UPDATE,
                    request=request,
                    object_type="user",
                    object_id=user.pk,
                    detail={"op": "release_lockout", "username": user.get_username()},
                )
        self.message_user(request, f"Released {released} locked account(s).", messages.SUCCESS)

    @admin.action(description="Reset two-step verification of the selected accounts")
    def reset_two_step(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            removed, _ = TOTPDevice.objects.filter(user=user).delete()
            if removed:
                audit.record(
                    AuditAction.DELETE,
                    request=request,
                    object_type="mfa_device",
                    object_id=user.pk,
                    detail={"op": "reset", "username": user.get_username()},
                )
        self.message_user(
            request,
            "Two-step verification reset: those users set it up again at their next sign-in.",
            messages.SUCCESS,
        )


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(DjangoGroupAdmin):
    """Roles are declared in code and created by `despp sync-roles`: read-only here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may(request, Action.USER_MANAGE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedReadsMixin):
    audit_object_type = "api_token"
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("prefix", "name", "user__username")
    # The digest is never shown: it is all an attacker would need to test guesses offline.
    fields = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may(request, Action.USER_MANAGE)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _may(request, Action.USER_MANAGE)  # for the revoke action; every field is read-only

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # issued by `despp token create`, which shows the token exactly once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked tokens stay, so the audit's references stay meaningful

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(
            tokens.revoke_token(token, actor=request.user, request=request)  # type: ignore[arg-type]
            for token in queryset
        )
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(AccessAudit)
class AccessAuditAdmin(ReadOnlyAuditAdmin):
    audit_object_type = "access_audit"
    list_display = (
        "at",
        "username",
        "agency_code",
        "action",
        "object_type",
        "object_id",
        "outcome",
        "ip",
    )
    list_filter = ("action", "outcome", "object_type")
    search_fields = ("username", "object_id", "ip", "path")
    date_hierarchy = "at"
    show_full_result_count = False  # a COUNT(*) over a year of audit on every page is slow


@admin.register(Event)
class EventAdmin(ReadOnlyAuditAdmin):
    audit_object_type = "event"
    list_display = ("seq", "stream", "position", "at", "actor_name", "kind")
    search_fields = ("stream", "kind", "actor_name")
    date_hierarchy = "at"
    show_full_result_count = False
