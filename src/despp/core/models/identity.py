"""Agencies and the people who work for them; API clients' revocable tokens."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from despp.core.models.geography import Provenance


class AgencyKind(models.TextChoices):
    DEPARTMENT = "department", "Department"
    DIVISION = "division", "Division"
    TROOP = "troop", "State Police troop"
    MUNICIPAL_POLICE = "municipal_police", "Municipal police department"
    FIRE_DEPARTMENT = "fire_department", "Fire department"
    PSAP = "psap", "Public safety answering point (911)"
    LAB = "lab", "Forensic laboratory"
    ACADEMY = "academy", "Training academy"
    EMS = "ems", "Emergency medical service"


class Agency(models.Model):
    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=20, choices=AgencyKind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="children", null=True, blank=True
    )
    town = models.ForeignKey(
        "core.Town", on_delete=models.PROTECT, related_name="agencies", null=True, blank=True
    )
    provenance = models.CharField(
        max_length=10, choices=Provenance.choices, default=Provenance.SOURCED
    )
    sources = models.CharField(max_length=160, blank=True)
    notes = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. Roles are Django groups (see core/permissions.py)."""

    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="members", null=True, blank=True
    )
    badge_number = models.CharField(max_length=20, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)


class ApiToken(models.Model):
    """A per-client bearer token. Only its SHA-256 digest is stored; revoking is immediate."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"
