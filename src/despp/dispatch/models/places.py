"""What the call-taker can pick a location from, and the cautions attached to places and people.

A CommonPlace is a named location with known coordinates (landmark, interchange, mile marker,
address point) so a call-taker's type-ahead offers validated places; what they typed is always
kept beside what they picked (Call.location_text), never replaced by a guess.
"""

from django.conf import settings
from django.db import models


class PlaceKind(models.TextChoices):
    LANDMARK = "landmark", "Common place / landmark"
    ADDRESS = "address", "Address point"
    MILE_MARKER = "mile_marker", "Highway mile marker"
    INTERSECTION = "intersection", "Intersection"
    STATION = "station", "Station / barracks"


class CommonPlace(models.Model):
    name = models.CharField(max_length=160)
    kind = models.CharField(max_length=20, choices=PlaceKind.choices)
    town = models.ForeignKey("core.Town", on_delete=models.PROTECT, related_name="places")
    street = models.CharField(max_length=120, blank=True)
    lat = models.FloatField()
    lon = models.FloatField()
    source = models.CharField(max_length=160, blank=True, help_text="where the point comes from")
    shipped = models.JSONField(
        default=dict,
        blank=True,
        help_text="the values the shipped table last gave; a field that differs from them was "
        "edited by an administrator and is kept when the reference data is reloaded",
    )

    class Meta:
        ordering = ["town__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["town", "name"], name="dispatch_place_unique_in_town")
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.town.name}"


class CautionKind(models.TextChoices):
    PREMISE = "premise", "Premise hazard"
    PERSON = "person", "Person caution"


class Caution(models.Model):
    """A hazard shown to the call-taker and every dispatched unit when an incident is near it
    (premise: within radius_m of the point) or names the person."""

    kind = models.CharField(max_length=10, choices=CautionKind.choices)
    text = models.CharField(max_length=400)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    radius_m = models.PositiveIntegerField(default=50)
    address_text = models.CharField(max_length=200, blank=True)
    person_name = models.CharField(max_length=160, blank=True)
    person_dob = models.DateField(null=True, blank=True)
    agency = models.ForeignKey(
        "core.Agency",
        on_delete=models.PROTECT,
        related_name="cautions",
        help_text="the agency that entered it",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="premise", lat__isnull=False, lon__isnull=False)
                    | models.Q(kind="person") & ~models.Q(person_name="")
                ),
                name="dispatch_caution_has_place_or_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"
