"""Lab work: requests per examination, results, reviews, reports and their versions, deliveries.

The request's lifecycle is the transition table in `forensics.workflow`; every transition is an
event on `labrequest:<id>`, and the columns marked "projection" are derived from those events
(`forensics.projections` rebuilds them). Traceability facts - who analysed, with which method
version and instrument, who reviewed and who authorised - exist only as events and their
read-only projections here: no service or admin form edits them.
"""

from django.conf import settings
from django.db import models

from despp.forensics.models.evidence import Priority


class LabRequestState(models.TextChoices):
    """Each state names the last step completed (see forensics.workflow for the table)."""

    REQUESTED = "requested", "Requested (awaiting assignment)"
    ASSIGNED = "assigned", "Assigned to an analyst"
    IN_ANALYSIS = "in_analysis", "In analysis"
    RESULTS_RECORDED = "results_recorded", "Results recorded (awaiting technical review)"
    TECHNICAL_REVIEW = "technical_review", "Technically reviewed (awaiting administrative review)"
    ADMINISTRATIVE_REVIEW = (
        "administrative_review",
        "Administratively reviewed (ready for release)",
    )
    RELEASED = "released", "Report released"
    RETURNED = "returned", "Returned for rework"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATES = frozenset(LabRequestState) - {LabRequestState.RELEASED, LabRequestState.CANCELLED}


class LabRequest(models.Model):
    """One examination requested on one or more items of a submission."""

    submission = models.ForeignKey(
        "forensics.Submission", on_delete=models.PROTECT, related_name="requests"
    )
    examination_type = models.ForeignKey(
        "forensics.ExaminationType", on_delete=models.PROTECT, related_name="requests"
    )
    section = models.ForeignKey(
        "forensics.Section", on_delete=models.PROTECT, related_name="requests"
    )  # the examination type's section when requested
    items = models.ManyToManyField("forensics.Item", related_name="requests")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    requested_at = models.DateTimeField()
    # Projection (from the request's events).
    state = models.CharField(
        max_length=24, choices=LabRequestState.choices, default=LabRequestState.REQUESTED
    )
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="lab_requests",
        null=True,
        blank=True,
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)  # analyst's last hand-in
    technical_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    administrative_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    released_at = models.DateTimeField(null=True, blank=True)  # first release (turnaround)
    amendment_reason = models.CharField(max_length=300, blank=True)  # while being amended
    head_position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["section", "state"], name="labrequest_section_state")]

    def __str__(self) -> str:
        return f"{self.submission.lab_number} {self.examination_type}"

    @property
    def stream(self) -> str:
        return f"labrequest:{self.pk}"


class Result(models.Model):
    """A finding, as the analyst recorded it (projection of a `result.recorded` event)."""

    lab_request = models.ForeignKey(LabRequest, on_delete=models.PROTECT, related_name="results")
    item = models.ForeignKey(
        "forensics.Item", on_delete=models.PROTECT, related_name="results", null=True, blank=True
    )
    finding = models.TextField()
    value = models.CharField(max_length=80, blank=True)
    units = models.CharField(max_length=30, blank=True)
    method = models.ForeignKey("forensics.Method", on_delete=models.PROTECT, related_name="+")
    method_version = models.CharField(max_length=20)
    instrument = models.ForeignKey(
        "forensics.Instrument", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    notes = models.TextField(blank=True)
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    event = models.OneToOneField("core.Event", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"result {self.pk} on {self.lab_request_id}"


class ReviewKind(models.TextChoices):
    TECHNICAL = "technical", "Technical review"
    ADMINISTRATIVE = "administrative", "Administrative review"


class ReviewOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    RETURNED = "returned", "Returned for rework"


class Review(models.Model):
    """A reviewer's decision (projection of a `review.*` event)."""

    lab_request = models.ForeignKey(LabRequest, on_delete=models.PROTECT, related_name="reviews")
    kind = models.CharField(max_length=16, choices=ReviewKind.choices)
    outcome = models.CharField(max_length=10, choices=ReviewOutcome.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    comments = models.TextField(blank=True)
    at = models.DateTimeField()
    event = models.OneToOneField("core.Event", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.outcome} by {self.reviewer_id}"


class Report(models.Model):
    """The laboratory report of one request; its text lives in its versions. Its events
    (releases, amendments, deliveries) are on the stream `report:<id>`."""

    lab_request = models.OneToOneField(LabRequest, on_delete=models.PROTECT, related_name="report")
    number = models.CharField(max_length=40, unique=True)  # "<lab number>-<exam code>"
    # Projection.
    current_version = models.PositiveIntegerField(default=0)
    head_position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.number

    @property
    def stream(self) -> str:
        return f"report:{self.pk}"


class ReportVersion(models.Model):
    """One issued version of a report, frozen: `content` is everything the PDF shows, as
    released (copied from the `report.released` event, whose hash covers it). An amendment is a
    new version with its reason; earlier versions stay readable, marked as superseded."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    amendment_reason = models.CharField(max_length=300, blank=True)
    content = models.JSONField()
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField()
    event = models.OneToOneField("core.Event", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["report_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["report", "version"], name="report_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.report.number} v{self.version}"


class DeliveryChannel(models.TextChoices):
    PORTAL = "portal", "Agency portal"
    EMAIL = "email", "E-mail (PDF attached)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class ReportDelivery(models.Model):
    """One recipient of one report version, and whether it reached them (and if not, why)."""

    version = models.ForeignKey(ReportVersion, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices)
    recipient = models.CharField(max_length=254)  # an e-mail address or an agency code
    recipient_agency = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # Projection (from the report's delivery events).
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    failure_reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["version_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "channel", "recipient"], name="delivery_unique_recipient"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} to {self.recipient} ({self.status})"
