"""Submissions and their items, and what became of each item.

What a submitter typed (case number, offense, item descriptions) is stored as entered and also
copied into the `submitted` events. Everything that *happens* to an item (receipt, transfers,
acknowledgements, splits, disposition) is an event on the stream `item:<id>`; the columns marked
"projection" below are derived from those events by `forensics.projections` and can be rebuilt
from them at any time (`despp verify-custody` checks that they agree).
"""

from django.conf import settings
from django.db import models


class Priority(models.TextChoices):
    ROUTINE = "routine", "Routine"
    RUSH = "rush", "Rush (violent crime / public safety)"
    COURT = "court", "Court date set"


class SubmissionStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted (awaiting receipt)"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed (every item returned, retained or destroyed)"


class Submission(models.Model):
    """An agency's request to the laboratory: one case, its items, the examinations wanted."""

    lab_number = models.CharField(max_length=20, unique=True)
    case_number = models.CharField(max_length=40, db_index=True)
    offense = models.CharField(max_length=160)
    offense_date = models.DateField(null=True, blank=True)
    agency = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, related_name="lab_submissions"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lab_submissions"
    )
    officer_name = models.CharField(max_length=120)
    officer_badge = models.CharField(max_length=20, blank=True)
    officer_email = models.EmailField(blank=True)
    notify_emails = models.JSONField(default=list, blank=True)  # extra report recipients
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    court_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    submitted_at = models.DateTimeField()
    # Projection (from the items' `received` events).
    status = models.CharField(
        max_length=12, choices=SubmissionStatus.choices, default=SubmissionStatus.SUBMITTED
    )
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return self.lab_number


class ItemType(models.TextChoices):
    BIOLOGICAL = "biological", "Biological (swab, stain, blood)"
    CLOTHING = "clothing", "Clothing / textile"
    DRUG = "drug", "Suspected controlled substance"
    TOXICOLOGY = "toxicology", "Toxicology specimen (blood, urine)"
    FIREARM = "firearm", "Firearm"
    AMMUNITION = "ammunition", "Ammunition / cartridge case / bullet"
    TOOLMARK = "toolmark", "Tool or toolmark"
    LATENT = "latent", "Latent print lift or item for prints"
    DIGITAL = "digital", "Digital device or media"
    TRACE = "trace", "Trace (fibres, glass, paint, fire debris)"
    DOCUMENT = "document", "Document"
    KIT = "kit", "Collection kit"
    OTHER = "other", "Other"


class Packaging(models.TextChoices):
    PAPER_BAG = "paper-bag", "Paper bag"
    PLASTIC_BAG = "plastic-bag", "Plastic bag"
    ENVELOPE = "envelope", "Envelope"
    BOX = "box", "Box"
    TUBE = "tube", "Tube / vial"
    CAN = "can", "Metal can"
    KIT = "kit", "Kit box"
    OTHER = "other", "Other"


class ItemStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted (still with the agency)"
    IN_LAB = "in-lab", "In laboratory custody"
    NOT_RECEIVED = "not-received", "Not received (listed but not delivered)"
    RETURNED = "returned", "Returned to the agency"
    DESTROYED = "destroyed", "Destroyed"


# Statuses from which nothing moves any more.
FINAL_ITEM_STATUSES = frozenset({ItemStatus.RETURNED, ItemStatus.DESTROYED})


class Item(models.Model):
    """One piece of evidence (or a sub-item cut from one). Its custody is the event stream
    `item:<id>`; the projection columns say where it is now."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="items")
    item_number = models.CharField(max_length=30)  # "3"; sub-items "3.1", "3.1.2"
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="sub_items", null=True, blank=True
    )
    description = models.CharField(max_length=300)
    item_type = models.CharField(max_length=12, choices=ItemType.choices)
    packaging = models.CharField(max_length=12, choices=Packaging.choices)
    seal_number = models.CharField(max_length=40, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    barcode = models.CharField(max_length=60, unique=True)  # "<lab number>-<item number>"
    # Projection (from the item's custody events).
    status = models.CharField(
        max_length=14, choices=ItemStatus.choices, default=ItemStatus.SUBMITTED
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="held_items",
        null=True,
        blank=True,
    )
    location = models.ForeignKey(
        "forensics.StorageLocation",
        on_delete=models.PROTECT,
        related_name="items",
        null=True,
        blank=True,
    )
    seal_intact = models.BooleanField(null=True, blank=True)  # as last recorded
    received_at = models.DateTimeField(null=True, blank=True)
    discrepancy = models.TextField(blank=True)  # noted at receipt
    # A transfer waiting for its acknowledgement (person) or its witness (storage).
    pending_from = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    pending_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="items_to_acknowledge",
        null=True,
        blank=True,
    )
    pending_location = models.ForeignKey(
        "forensics.StorageLocation",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    pending_witness = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="items_to_witness",
        null=True,
        blank=True,
    )
    head_position = models.PositiveIntegerField(default=0)  # events applied so far

    class Meta:
        ordering = ["submission_id", "item_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "item_number"], name="item_number_unique_per_submission"
            )
        ]

    def __str__(self) -> str:
        return f"{self.submission.lab_number} item {self.item_number}"

    @property
    def stream(self) -> str:
        return f"item:{self.pk}"

    @property
    def has_pending_transfer(self) -> bool:
        return self.pending_to_id is not None or self.pending_location_id is not None


class DispositionKind(models.TextChoices):
    RETURNED = "returned", "Returned to the agency"
    RETAINED = "retained", "Retained by the laboratory"
    DESTROYED = "destroyed", "Destroyed"


class Disposition(models.Model):
    """What was decided for an item after the work (projection of its `disposed` event).

    A return names who received it (person and agency): nothing leaves without a recorded
    recipient. Destruction names a witness. Retention names where it is kept, and until when.
    """

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="dispositions")
    kind = models.CharField(max_length=10, choices=DispositionKind.choices)
    recipient_name = models.CharField(max_length=120, blank=True)
    recipient_agency = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    recipient_id_number = models.CharField(max_length=40, blank=True)  # badge or ID shown
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    location = models.ForeignKey(
        "forensics.StorageLocation",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    retain_until = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    event = models.OneToOneField("core.Event", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.item} {self.kind}"
