"""The laboratory's own reference data: sections and their examination types, who works in
which section, validated methods, instruments, and the storage hierarchy.

These rows are configuration, set up by the laboratory (admin or demo data); casework never
changes them. Results name a method *version* and an instrument as they stood when recorded
(copied into the result's event), so retiring a method later does not rewrite history.
"""

from django.conf import settings
from django.db import models


class SectionCode(models.TextChoices):
    DNA = "dna", "DNA"
    TOXICOLOGY = "toxicology", "Toxicology"
    CONTROLLED_SUBSTANCES = "controlled-substances", "Controlled Substances"
    FIREARMS = "firearms", "Firearms and Toolmarks"
    LATENT_PRINTS = "latent-prints", "Latent Prints"
    DIGITAL = "digital", "Digital Evidence"
    TRACE = "trace", "Trace"


class Section(models.Model):
    """A discipline of the laboratory; lab requests queue per section."""

    code = models.CharField(max_length=30, choices=SectionCode.choices, unique=True)
    name = models.CharField(max_length=80)
    members = models.ManyToManyField(  # type: ignore[var-annotated]
        settings.AUTH_USER_MODEL, through="SectionMembership", related_name="lab_sections"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SectionMembership(models.Model):
    """An analyst or reviewer works in a section: they see its queue and may work or review its
    requests (what they may *do* still comes from their role)."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_memberships"
    )
    since = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["section", "user"], name="section_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.section}"


class ExaminationType(models.Model):
    """What a submitter can ask for (e.g. "Drug identification"); belongs to one section."""

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="exam_types")
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["section__name", "name"]

    def __str__(self) -> str:
        return self.name


class MethodStatus(models.TextChoices):
    VALIDATED = "validated", "Validated (in use)"
    RETIRED = "retired", "Retired"


class Method(models.Model):
    """A documented test method at one version; only validated methods may be used."""

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="methods")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=160)
    version = models.CharField(max_length=20)
    status = models.CharField(
        max_length=12, choices=MethodStatus.choices, default=MethodStatus.VALIDATED
    )

    class Meta:
        ordering = ["section__name", "code", "version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="method_code_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Instrument(models.Model):
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="instruments")
    asset_tag = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=160)
    in_service = models.BooleanField(default=True)

    class Meta:
        ordering = ["section__name", "asset_tag"]

    def __str__(self) -> str:
        return f"{self.name} ({self.asset_tag})"


class LocationKind(models.TextChoices):
    """Storage levels, outermost first; a location's parent is one level up."""

    BUILDING = "building", "Building"
    SECTION = "section", "Section"
    FRIDGE = "fridge", "Refrigerator / freezer / vault"
    SHELF = "shelf", "Shelf"


LOCATION_LEVELS = {kind: depth for depth, kind in enumerate(LocationKind)}


class StorageLocation(models.Model):
    """building -> section -> fridge (or vault) -> shelf. Evidence is stored at any level."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=LocationKind.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="children", null=True, blank=True
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        """The full path, e.g. "Main lab / DNA / Freezer 2 / Shelf B" (outermost first)."""
        names = [self.name]
        node = self.parent
        while node is not None and len(names) < len(LocationKind) + 1:
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))


class LabNumberCounter(models.Model):
    """The last lab number issued per year; taken under a row lock so numbers never repeat."""

    year = models.PositiveIntegerField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"
