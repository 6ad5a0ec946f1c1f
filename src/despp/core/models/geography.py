"""Reference geography: counties, towns with their boundaries, State Police troops, and each
town's answer to "who polices it, which troop, which PSAP" together with how we know it."""

from django.db import models


class Provenance(models.TextChoices):
    """How a jurisdiction fact was obtained; shown beside the fact in the admin and the API."""

    SOURCED = "sourced", "Sourced (a cited public source names it)"
    INFERRED = "inferred", "Inferred (no source names it; e.g. the nearest troop barracks)"
    DERIVED = "derived", "Derived (a documented default rule, e.g. own department's dispatch)"
    OVERRIDE = "override", "Set by an administrator"
    UNKNOWN = "unknown", "Unknown"


class Policing(models.TextChoices):
    MUNICIPAL = "municipal_pd", "Municipal police department"
    STATE_POLICE = "state_police", "State Police"
    SPLIT = "split", "Municipal department and State Police"


class County(models.Model):
    name = models.CharField(max_length=60, unique=True)
    fips = models.CharField(max_length=5, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "counties"

    def __str__(self) -> str:
        return self.name


class Troop(models.Model):
    """A State Police troop; its police work is done by the Agency it is linked to."""

    code = models.CharField(max_length=1, unique=True)
    agency = models.OneToOneField("core.Agency", on_delete=models.PROTECT, related_name="troop")
    barracks_town = models.ForeignKey(
        "core.Town", on_delete=models.PROTECT, related_name="barracks", null=True, blank=True
    )
    barracks_locality = models.CharField(max_length=80, blank=True)
    barracks_address = models.CharField(max_length=160, blank=True)
    district = models.CharField(max_length=80, blank=True)
    dispatch_note = models.CharField(max_length=240, blank=True)
    # The 911/dispatch center that answers for the troop's State Police towns.
    dispatch_center = models.ForeignKey(
        "core.Agency",
        on_delete=models.PROTECT,
        related_name="dispatched_troops",
        null=True,
        blank=True,
    )
    dispatch_center_provenance = models.CharField(
        max_length=10, choices=Provenance.choices, default=Provenance.UNKNOWN
    )
    dispatch_center_basis = models.TextField(blank=True)
    towns_served_count_reported = models.CharField(max_length=80, blank=True)
    sources = models.CharField(max_length=160, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"Troop {self.code}"


class Town(models.Model):
    name = models.CharField(max_length=60, unique=True)
    fips_2020 = models.CharField(max_length=10, unique=True)
    fips_2022 = models.CharField(max_length=10, unique=True)
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="towns")
    planning_region = models.CharField(max_length=80)
    population = models.PositiveIntegerField()
    population_year = models.PositiveSmallIntegerField()
    population_source = models.CharField(max_length=120, blank=True)
    land_area_m2 = models.BigIntegerField()
    water_area_m2 = models.BigIntegerField()
    centroid_lat = models.FloatField()
    centroid_lon = models.FloatField()
    boundary = models.JSONField(help_text="GeoJSON Polygon/MultiPolygon geometry, lon/lat")

    # Each jurisdiction fact comes with its provenance and a `*_basis` sentence saying how the
    # platform got it (the source, the rule applied, or the administrator's reason).
    policing = models.CharField(max_length=20, choices=Policing.choices)
    policing_provenance = models.CharField(max_length=10, choices=Provenance.choices)
    policing_basis = models.TextField(blank=True)
    ucr_2013_agency_columns = models.CharField(max_length=160, blank=True)
    police_agency = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, related_name="policed_towns"
    )
    police_agency_provenance = models.CharField(
        max_length=10, choices=Provenance.choices, default=Provenance.UNKNOWN
    )
    police_agency_basis = models.TextField(blank=True)
    troop = models.ForeignKey(
        Troop, on_delete=models.PROTECT, related_name="towns", null=True, blank=True
    )
    troop_provenance = models.CharField(max_length=10, choices=Provenance.choices)
    troop_basis = models.TextField(blank=True)
    troop_confidence = models.CharField(max_length=10, blank=True)
    troop_evidence = models.TextField(blank=True)
    troop_sources = models.CharField(max_length=80, blank=True)
    # The dataset's own unconfirmed guess and its reasoning, kept as a hint beside our answer.
    troop_candidate = models.CharField(max_length=10, blank=True)
    troop_candidate_basis = models.TextField(blank=True)
    psap = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, related_name="psap_towns", null=True, blank=True
    )
    psap_provenance = models.CharField(max_length=10, choices=Provenance.choices)
    psap_basis = models.TextField(blank=True)
    resident_trooper_evidence = models.CharField(max_length=120, blank=True)
    sources = models.CharField(max_length=240, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReferenceState(models.Model):
    """One row per database: bumped in the same transaction as every change to the reference
    geography (a load that changed something, an administrator's correction), so each process's
    cached jurisdiction index can tell cheaply that it must reload."""

    key = models.CharField(max_length=20, primary_key=True, default="geography")
    revision = models.PositiveBigIntegerField(default=0)
    geometry_digest = models.CharField(max_length=64, blank=True)
    dataset = models.CharField(max_length=200, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key} r{self.revision}"
