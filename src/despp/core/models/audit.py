"""The access audit (CJIS 5.4.1): who did what to which non-public record, when, from where,
and whether it succeeded. Rows are only ever inserted (CJIS 5.4.5): the model refuses updates
and deletes, and so do database triggers (migration 0002)."""

from django.conf import settings
from django.db import models

from despp.core.models.appendonly import AppendOnlyModel


class AuditAction(models.TextChoices):
    READ = "read", "Read"
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    LOGIN = "login", "Log-on"
    LOGIN_FAILED = "login_failed", "Failed log-on"
    LOGOUT = "logout", "Log-off"
    LOCKOUT = "lockout", "Account locked"
    PERMISSION_CHANGE = "permission_change", "Permission change"
    PASSWORD_CHANGE = "password_change", "Password change"
    TOKEN = "token", "API token issued or revoked"
    DENIED = "denied", "Access denied"
    SEARCH = "search", "Search"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class AccessAudit(AppendOnlyModel):
    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, db_index=True)
    agency_code = models.CharField(max_length=60, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=60, blank=True, db_index=True)
    object_id = models.CharField(max_length=80, blank=True)
    outcome = models.CharField(
        max_length=10, choices=AuditOutcome.choices, default=AuditOutcome.SUCCESS
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    path = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.object_type}"
