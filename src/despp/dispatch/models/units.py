"""Stations, units, and the status timer thresholds.

A unit stores no "status" column of its own for work: what it is doing lives on its
assignments (models/incidents.py), and its overall status — available, committed, out of
service — is derived (dispatch/states.py), so a change on one incident cannot bleed into
another. `in_service` is the one thing a unit is by itself: on the road or not.
"""

from django.db import models

from despp.dispatch.models.codes import Discipline


class UnitKind(models.TextChoices):
    TROOP_CAR = "troop_car", "State Police patrol car"
    POLICE_CAR = "police_car", "Police patrol car"
    POLICE_SUPERVISOR = "police_supervisor", "Police supervisor"
    K9 = "k9", "K9 unit"
    MARINE = "marine", "Marine unit"
    ENGINE = "engine", "Fire engine"
    LADDER = "ladder", "Ladder / truck"
    RESCUE = "rescue", "Heavy rescue"
    TANKER = "tanker", "Tanker"
    BRUSH = "brush", "Brush truck"
    FIRE_CHIEF = "fire_chief", "Fire chief / command"
    ALS = "als", "ALS ambulance (paramedic)"
    BLS = "bls", "BLS ambulance"
    EMS_SUPERVISOR = "ems_supervisor", "EMS supervisor / fly car"


UNIT_DISCIPLINE: dict[str, Discipline] = {
    UnitKind.TROOP_CAR: Discipline.POLICE,
    UnitKind.POLICE_CAR: Discipline.POLICE,
    UnitKind.POLICE_SUPERVISOR: Discipline.POLICE,
    UnitKind.K9: Discipline.POLICE,
    UnitKind.MARINE: Discipline.POLICE,
    UnitKind.ENGINE: Discipline.FIRE,
    UnitKind.LADDER: Discipline.FIRE,
    UnitKind.RESCUE: Discipline.FIRE,
    UnitKind.TANKER: Discipline.FIRE,
    UnitKind.BRUSH: Discipline.FIRE,
    UnitKind.FIRE_CHIEF: Discipline.FIRE,
    UnitKind.ALS: Discipline.EMS,
    UnitKind.BLS: Discipline.EMS,
    UnitKind.EMS_SUPERVISOR: Discipline.EMS,
}


class Capability(models.TextChoices):
    """What a unit can do beyond its kind; response plan lines may require one."""

    ALS = "als", "Advanced life support"
    BLS = "bls", "Basic life support"
    AED = "aed", "Defibrillator"
    EXTRICATION = "extrication", "Vehicle extrication"
    WATER_RESCUE = "water_rescue", "Water rescue"
    HAZMAT = "hazmat", "Hazardous materials"
    AERIAL = "aerial", "Aerial ladder"
    K9_TRACKING = "k9_tracking", "K9 tracking"
    K9_NARCOTICS = "k9_narcotics", "K9 narcotics"
    BOAT = "boat", "Boat"
    CRASH_RECON = "crash_recon", "Crash reconstruction"


class Station(models.Model):
    name = models.CharField(max_length=120)
    agency = models.ForeignKey("core.Agency", on_delete=models.PROTECT, related_name="stations")
    town = models.ForeignKey("core.Town", on_delete=models.PROTECT, related_name="stations")
    lat = models.FloatField()
    lon = models.FloatField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="dispatch_station_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    call_sign = models.CharField(max_length=20, unique=True)
    kind = models.CharField(max_length=20, choices=UnitKind.choices)
    agency = models.ForeignKey("core.Agency", on_delete=models.PROTECT, related_name="units")
    home_station = models.ForeignKey(
        Station, on_delete=models.PROTECT, related_name="units", null=True, blank=True
    )
    capabilities = models.JSONField(default=list, blank=True, help_text="Capability values")
    in_service = models.BooleanField(default=True)
    out_of_service_reason = models.CharField(max_length=200, blank=True)
    # AVL: the last reported position (or the home station's when AVL is absent).
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)
    # The open emergency (panic) raised by or for this unit, until a dispatcher acknowledges it.
    emergency_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["call_sign"]

    def __str__(self) -> str:
        return self.call_sign


class StatusThreshold(models.Model):
    """When an assignment has been in `status` this long, consoles warn, then alarm (e.g. the
    on-scene officer welfare check). A row with no unit kind applies to every kind."""

    status = models.CharField(max_length=20)  # AssignmentStatus value
    unit_kind = models.CharField(max_length=20, choices=UnitKind.choices, blank=True)
    warn_after_s = models.PositiveIntegerField()
    alarm_after_s = models.PositiveIntegerField()
    label = models.CharField(max_length=120, help_text="what the warning asks for")

    class Meta:
        ordering = ["status", "unit_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["status", "unit_kind"], name="dispatch_threshold_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(alarm_after_s__gte=models.F("warn_after_s")),
                name="dispatch_threshold_alarm_after_warn",
            ),
        ]

    def __str__(self) -> str:
        kind = self.unit_kind or "any kind"
        return f"{self.status} ({kind}): warn {self.warn_after_s}s, alarm {self.alarm_after_s}s"
