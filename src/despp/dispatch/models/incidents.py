"""911 calls, incidents, assignments of units to incidents, and response plans.

Times are stored where the NFPA 1710 / 1221 intervals need them: PSAP receipt and answer on
the call; entry, first unit notified, first en route and first on scene on the incident; each
unit's own stamps on its assignment. Every change is also an event on `incident:<id>` (or
`call:<id>` before a call has an incident), which is the incident's timeline.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from despp.dispatch.models.codes import DispositionCode, NatureCode, Priority
from despp.dispatch.models.places import CommonPlace
from despp.dispatch.models.units import Unit, UnitKind


class ClassOfService(models.TextChoices):
    WIRELINE = "wireline", "Wireline"
    WIRELESS = "wireless", "Wireless"
    VOIP = "voip", "VoIP"
    TEXT = "text", "Text to 911"
    TEN_DIGIT = "ten_digit", "10-digit line"


class CallStatus(models.TextChoices):
    RINGING = "ringing", "Ringing"
    ANSWERED = "answered", "Answered"
    RELEASED = "released", "Released"
    ABANDONED = "abandoned", "Abandoned"
    TRANSFERRED = "transferred", "Transferred to another PSAP"


class CallbackStatus(models.TextChoices):
    NOT_NEEDED = "", "Not needed"
    PENDING = "pending", "Waiting for a callback"
    REACHED = "reached", "Caller reached"
    NO_ANSWER = "no_answer", "No answer; try again"
    UNREACHABLE = "unreachable", "Unreachable (given up, reason logged)"


class Call(models.Model):
    psap = models.ForeignKey("core.Agency", on_delete=models.PROTECT, related_name="calls")
    source_ref = models.CharField(
        max_length=64,
        blank=True,
        help_text="the sender's own id for this call; a retry with the same id is not a new call",
    )
    callback_number = models.CharField(max_length=20, blank=True)
    class_of_service = models.CharField(max_length=12, choices=ClassOfService.choices)
    # Location as delivered (ALI / PIDF-LO) or as the call-taker entered it; never replaced.
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    uncertainty_m = models.PositiveIntegerField(null=True, blank=True)
    civic_address = models.CharField(max_length=200, blank=True)
    location_text = models.CharField(max_length=200, blank=True, help_text="as typed")
    place = models.ForeignKey(
        CommonPlace, on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    # The jurisdiction answer for the location (core.jurisdiction.locate).
    town = models.ForeignKey(
        "core.Town", on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    in_state = models.BooleanField(default=True)
    police_agency = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(help_text="PSAP receipt (NFPA 1221 call arrival)")
    answered_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    transferred_at = models.DateTimeField(null=True, blank=True)
    transferred_to = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transfer_reason = models.CharField(max_length=200, blank=True)
    call_taker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls_taken",
    )
    status = models.CharField(max_length=12, choices=CallStatus.choices)
    callback_status = models.CharField(
        max_length=12, choices=CallbackStatus.choices, blank=True, default=CallbackStatus.NOT_NEEDED
    )
    callback_attempts = models.PositiveSmallIntegerField(default=0)
    incident = models.ForeignKey(
        "dispatch.Incident", on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    description = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["psap", "received_at"]),
            models.Index(fields=["callback_status", "received_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_ref"], condition=~Q(source_ref=""), name="dispatch_call_source_ref"
            ),
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lon__isnull=True)
                | Q(lat__isnull=False, lon__isnull=False),
                name="dispatch_call_lat_lon_together",
            ),
        ]

    def __str__(self) -> str:
        return f"Call {self.pk} ({self.callback_number or 'no callback number'})"


class IncidentSource(models.TextChoices):
    CALL = "call", "911 call"
    OFFICER = "officer", "Officer-initiated"
    SCHEDULED = "scheduled", "Scheduled"
    TRANSFER = "transfer", "Received from another CAD (EIDO)"


class IncidentStatus(models.TextChoices):
    PENDING = "pending", "Pending (no unit yet)"
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"
    MERGED = "merged", "Merged into another incident"


OPEN_INCIDENT_STATUSES = (IncidentStatus.PENDING, IncidentStatus.ACTIVE)


class IncidentCounter(models.Model):
    """The last incident number issued by a PSAP in a year (numbers restart each year)."""

    psap = models.ForeignKey("core.Agency", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["psap", "year"], name="dispatch_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.psap_id}/{self.year}: {self.last_number}"


class Incident(models.Model):
    psap = models.ForeignKey("core.Agency", on_delete=models.PROTECT, related_name="incidents")
    year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    nature = models.ForeignKey(NatureCode, on_delete=models.PROTECT, related_name="incidents")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    source = models.CharField(max_length=10, choices=IncidentSource.choices)
    status = models.CharField(max_length=10, choices=IncidentStatus.choices)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    location_text = models.CharField(max_length=200, blank=True)
    town = models.ForeignKey(
        "core.Town", on_delete=models.PROTECT, null=True, blank=True, related_name="incidents"
    )
    police_agency = models.ForeignKey(
        "core.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(help_text="entered in CAD")
    first_notified_at = models.DateTimeField(null=True, blank=True)
    first_en_route_at = models.DateTimeField(null=True, blank=True)
    first_on_scene_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    disposition = models.ForeignKey(
        DispositionCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_from"
    )
    eido_id = models.CharField(
        max_length=255,
        blank=True,
        help_text="the sender's incident tracking id (EIDO $id) when received from another CAD",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "psap"]),
            models.Index(fields=["psap", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["psap", "year", "number"], name="dispatch_incident_number_unique"
            ),
            # A PSAP receives a given incident once; a second import of it is a 409.
            models.UniqueConstraint(
                fields=["psap", "eido_id"],
                condition=~Q(eido_id=""),
                name="dispatch_incident_eido_once_per_psap",
            ),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        """e.g. `26-000123`; unique within the PSAP (the PSAP's code goes with it elsewhere)."""
        return f"{self.year % 100:02d}-{self.number:06d}"


class IncidentLink(models.Model):
    """Two incidents recorded as related (e.g. the same event seen from two places)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="links_out")
    other = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="links_in")
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "other"], name="dispatch_link_unique"),
            models.CheckConstraint(
                condition=~Q(incident=models.F("other")), name="dispatch_link_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} linked to {self.other_id}"


class AssignmentStatus(models.TextChoices):
    """A unit's status on ONE incident. Transitions are declared in dispatch/states.py."""

    RESERVED = "reserved", "Reserved (scheduled call)"
    DISPATCHED = "dispatched", "Dispatched"
    EN_ROUTE = "en_route", "En route"
    ON_SCENE = "on_scene", "On scene"
    TRANSPORTING = "transporting", "Transporting"
    AT_HOSPITAL = "at_hospital", "At hospital"
    CLEARED = "cleared", "Cleared"


# Statuses that commit the unit: at most one assignment per unit may be in one of these.
COMMITTED_STATUSES = (
    AssignmentStatus.DISPATCHED,
    AssignmentStatus.EN_ROUTE,
    AssignmentStatus.ON_SCENE,
    AssignmentStatus.TRANSPORTING,
    AssignmentStatus.AT_HOSPITAL,
)


class Assignment(models.Model):
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="assignments")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="assignments")
    status = models.CharField(max_length=12, choices=AssignmentStatus.choices)
    status_at = models.DateTimeField(help_text="when the current status began (status timers)")
    reserved_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True)
    on_scene_at = models.DateTimeField(null=True, blank=True)
    transporting_at = models.DateTimeField(null=True, blank=True)
    at_hospital_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recommended = models.BooleanField(default=False, help_text="was the recommendation's pick")
    override_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["incident", "id"]
        indexes = [models.Index(fields=["status"])]
        constraints = [
            # The database itself refuses a unit committed to two incidents at once.
            models.UniqueConstraint(
                fields=["unit"],
                condition=Q(status__in=[s.value for s in COMMITTED_STATUSES]),
                name="dispatch_unit_committed_once",
            ),
            models.UniqueConstraint(
                fields=["unit", "incident"],
                condition=~Q(status=AssignmentStatus.CLEARED),
                name="dispatch_assignment_open_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} on {self.incident}: {self.status}"


class ResponsePlan(models.Model):
    """A run card: which unit kinds, how many, for a nature code in a town (or statewide when
    `town` is empty; a town's own plan wins over the statewide one)."""

    nature = models.ForeignKey(NatureCode, on_delete=models.PROTECT, related_name="plans")
    town = models.ForeignKey(
        "core.Town", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["nature__code", "town__name"]
        constraints = [
            models.UniqueConstraint(fields=["nature", "town"], name="dispatch_plan_unique"),
            models.UniqueConstraint(
                fields=["nature"], condition=Q(town__isnull=True), name="dispatch_plan_statewide"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ResponsePlanLine(models.Model):
    plan = models.ForeignKey(ResponsePlan, on_delete=models.CASCADE, related_name="lines")
    unit_kinds = models.JSONField(help_text="UnitKind values any of which fills this line")
    count = models.PositiveSmallIntegerField(default=1)
    capability = models.CharField(max_length=20, blank=True, help_text="Capability required")

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        kinds = "/".join(UnitKind(kind).label for kind in self.unit_kinds)
        return f"{self.count} x {kinds}"
