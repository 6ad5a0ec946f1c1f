"""Closed vocabularies of the dispatch floor: disciplines, nature codes, dispositions.

Nature codes ship as the 197 APCO common incident types (the codes NENA EIDO's
`incidentTypeCommonRegistryText` takes), each with a discipline and a default priority; an
administrator may edit the table (priority, label, active) and add local codes.
"""

from django.db import models


class Discipline(models.TextChoices):
    POLICE = "police", "Police"
    FIRE = "fire", "Fire"
    EMS = "ems", "EMS"
    OTHER = "other", "Other"


class Priority(models.IntegerChoices):
    """1 is the most urgent. EIDO's 0 to 10 scale (10 highest) is mapped at the interchange."""

    IMMEDIATE = 1, "P1 — immediate threat to life"
    URGENT = 2, "P2 — urgent"
    PROMPT = 3, "P3 — prompt"
    ROUTINE = 4, "P4 — routine"
    SCHEDULED = 5, "P5 — scheduled / no response needed"


class NatureCode(models.Model):
    code = models.CharField(max_length=12, unique=True, help_text="APCO common incident type")
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    discipline = models.CharField(max_length=10, choices=Discipline.choices)
    default_priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    apco_registry = models.BooleanField(
        default=True, help_text="an APCO registry code (EIDO incidentTypeCommonRegistryText)"
    )
    active = models.BooleanField(default=True)
    shipped = models.JSONField(
        default=dict,
        blank=True,
        help_text="the values the shipped table last gave; a field that differs from them was "
        "edited by an administrator and is kept when the reference data is reloaded",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.label}"


class DispositionCode(models.Model):
    """How an incident ended (NENA disposition registry terms where one fits)."""

    code = models.CharField(max_length=12, unique=True)
    label = models.CharField(max_length=120)
    report_required = models.BooleanField(
        default=False, help_text="closing with this disposition asks for a case report"
    )
    active = models.BooleanField(default=True)
    shipped = models.JSONField(
        default=dict,
        blank=True,
        help_text="the values the shipped table last gave; a field that differs from them was "
        "edited by an administrator and is kept when the reference data is reloaded",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} — {self.label}"
