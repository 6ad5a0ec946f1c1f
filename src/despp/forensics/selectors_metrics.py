"""Laboratory metrics (turnaround and backlog), computed in the database, and the few reads the
laboratory pages need beyond `forensics.selectors`.

Definitions (NIJ, "Making Sense of DNA Backlogs", 2012):
- *turnaround* of a request: from the laboratory's receipt of the submission's evidence
  (`Submission.received_at`, the first item received) to the first release of its report
  (`LabRequest.released_at`; an amendment later does not reopen it);
- a request is *open* at a moment when its evidence had been received by then, its report was
  not yet released, and it was not cancelled (a cancelled request counts nowhere);
- it is *backlogged* when it has been open for more than 30 days: received before
  `as_of - 30 days`. A request received exactly 30 days ago is not yet backlogged.

Scope: laboratory staff see the whole laboratory's figures (aggregates only: no case is
named); an agency user sees only the figures of their own agency's submissions (and those of
the agencies below it), like every other laboratory read. Without evidence.view: 403.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
)
from django.http import HttpRequest
from django.utils import timezone

from despp.core.models import User
from despp.core.permissions import MATRIX, Action
from despp.forensics.models import (
    ExaminationType,
    Item,
    LabRequest,
    LabRequestState,
    Report,
    ReportDelivery,
    Section,
    StorageLocation,
)
from despp.forensics.models.lab import DeliveryStatus
from despp.forensics.selectors import lab_scope, visible_items, visible_reports
from despp.forensics.services._common import is_lab_staff

BACKLOG_DAYS = 30
BACKLOG_AGE = timedelta(days=BACKLOG_DAYS)
MAX_PERIOD_DAYS = 5 * 366
_RECEIVED = F("submission__received_at")
_TURNAROUND = ExpressionWrapper(F("released_at") - _RECEIVED, output_field=DurationField())


@dataclass(frozen=True)
class Period:
    """Whole local days, `first` to `last` inclusive."""

    first: date
    last: date

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def until(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    @classmethod
    def last_days(cls, days: int, today: date | None = None) -> "Period":
        today = today or timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)


@dataclass
class Figures:
    """One row of the metrics: a section, an examination type, or the total."""

    key: str
    name: str
    section: str = ""
    released: int = 0
    mean_days: float | None = None
    within_limit: int = 0  # released within 30 days of receipt
    open: int = 0
    backlog: int = 0  # open for more than 30 days
    oldest_days: float | None = None

    @property
    def within_share(self) -> float | None:
        return round(100 * self.within_limit / self.released, 1) if self.released else None


@dataclass
class LabMetrics:
    period: Period
    as_of: datetime  # open and backlogged requests are counted at this moment
    whole_lab: bool  # False: only the caller's agency's submissions
    by_section: list[Figures] = field(default_factory=list)
    by_examination: list[Figures] = field(default_factory=list)
    total: Figures = field(default_factory=lambda: Figures("total", "All requests"))


def _days(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 86400, 1)


def scoped_requests(user: Any, request: HttpRequest | None = None) -> tuple[QuerySet[Any], bool]:
    """The requests whose figures the caller may see, and whether that is the whole lab."""
    scope = lab_scope(user, request)
    if scope.everything or is_lab_staff(user) or scope.agencies is None:
        return LabRequest.objects.all(), True
    return LabRequest.objects.filter(submission__agency__in=scope.agencies), False


def _released_in(queryset: QuerySet[Any], period: Period) -> QuerySet[Any]:
    return queryset.filter(
        released_at__gte=period.since,
        released_at__lt=period.until,
        submission__received_at__isnull=False,
    )


def _turnaround_aggregates() -> dict[str, Any]:
    return {
        "released": Count("id"),
        "mean": Avg(_TURNAROUND),
        "within": Count(
            "id", filter=Q(released_at__lte=F("submission__received_at") + BACKLOG_AGE)
        ),
    }


def _open_at(queryset: QuerySet[Any], as_of: datetime) -> QuerySet[Any]:
    return (
        queryset.filter(submission__received_at__lte=as_of)
        .filter(Q(released_at__isnull=True) | Q(released_at__gt=as_of))
        .exclude(state=LabRequestState.CANCELLED)
    )


def _open_aggregates(as_of: datetime) -> dict[str, Any]:
    return {
        "open": Count("id"),
        # In UTC: aware arithmetic in the local zone is wall-clock and would be an hour off
        # across a daylight-saving change.
        "backlog": Count(
            "id", filter=Q(submission__received_at__lt=as_of.astimezone(UTC) - BACKLOG_AGE)
        ),
        "oldest": Min("submission__received_at"),
    }


def _grouped(queryset: QuerySet[Any], key: str, aggregates: dict[str, Any]) -> dict[str, Any]:
    rows = queryset.values(key).annotate(**aggregates).order_by(key)
    return {row[key]: row for row in rows}


def _fill(
    row: Figures, turnaround: dict[str, Any] | None, opened: dict[str, Any] | None, as_of: datetime
) -> Figures:
    if turnaround:
        row.released = turnaround["released"]
        row.mean_days = _days(turnaround["mean"])
        row.within_limit = turnaround["within"]
    if opened:
        row.open = opened["open"]
        row.backlog = opened["backlog"]
        row.oldest_days = _days(as_of - opened["oldest"]) if opened["oldest"] else None
    return row


def lab_metrics(
    user: Any,
    period: Period,
    *,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> LabMetrics:
    """Turnaround of the requests released in `period` and the requests open (and
    backlogged) at the end of it - or now, when the period has not ended yet."""
    queryset, whole_lab = scoped_requests(user, request)
    as_of = min(period.until, now or timezone.now())
    metrics = LabMetrics(period=period, as_of=as_of, whole_lab=whole_lab)

    released = _released_in(queryset, period)
    still_open = _open_at(queryset, as_of)

    key = "section__code"
    done = _grouped(released, key, _turnaround_aggregates())
    pending = _grouped(still_open, key, _open_aggregates(as_of))
    for section in Section.objects.order_by("name"):
        if whole_lab or section.code in done or section.code in pending:
            metrics.by_section.append(
                _fill(
                    Figures(section.code, section.name),
                    done.get(section.code),
                    pending.get(section.code),
                    as_of,
                )
            )

    key = "examination_type__code"
    done = _grouped(released, key, _turnaround_aggregates())
    pending = _grouped(still_open, key, _open_aggregates(as_of))
    exams = ExaminationType.objects.filter(code__in={*done, *pending}).select_related("section")
    for exam in exams.order_by("section__name", "name"):
        metrics.by_examination.append(
            _fill(
                Figures(exam.code, exam.name, exam.section.name),
                done.get(exam.code),
                pending.get(exam.code),
                as_of,
            )
        )

    metrics.total = _fill(
        Figures("total", "All requests"),
        released.aggregate(**_turnaround_aggregates()),
        still_open.aggregate(**_open_aggregates(as_of)),
        as_of,
    )
    return metrics


# --- reads for the laboratory pages that `forensics.selectors` does not offer ------------------


def transfers_waiting(user: Any, *, request: HttpRequest | None = None) -> QuerySet[Item]:
    """Every visible item whose transfer waits for an acknowledgement or a witness (intake
    watches these: evidence half-way between two people is evidence nobody holds)."""
    return (
        visible_items(user, request)
        .filter(Q(pending_to__isnull=False) | Q(pending_location__isnull=False))
        .select_related(
            "pending_from",
            "pending_to",
            "pending_witness",
            "pending_location__parent__parent__parent",
        )
        .order_by("submission__lab_number", "item_number")
    )


def items_in_storage(user: Any, *, request: HttpRequest | None = None) -> QuerySet[Item]:
    """The visible items kept in a storage location, by location."""
    return (
        visible_items(user, request)
        .filter(location__isnull=False)
        .select_related("location__parent__parent__parent")
        .order_by("location__code", "submission__lab_number", "item_number")
    )


def storage_counts(user: Any, *, request: HttpRequest | None = None) -> list[StorageLocation]:
    """Each storage location holding visible items, with `item_count`, by code."""
    counts = dict(
        items_in_storage(user, request=request)
        .order_by()
        .values_list("location_id")
        .annotate(n=Count("id"))
        .values_list("location_id", "n")
    )
    locations = list(
        StorageLocation.objects.filter(pk__in=counts)
        .select_related("parent__parent__parent")
        .order_by("code")
    )
    for location in locations:
        location.item_count = counts[location.pk]  # type: ignore[attr-defined]
    return locations


def released_reports(user: Any, *, request: HttpRequest | None = None) -> QuerySet[Report]:
    """Visible reports, each with the time of its latest version (`last_released`)."""
    return (
        visible_reports(user, request)
        .annotate(last_released=Max("versions__released_at"))
        .order_by("-last_released", "-id")
    )


def failed_deliveries(user: Any, *, request: HttpRequest | None = None) -> QuerySet[Any]:
    """Deliveries of visible reports that failed, newest attempt first."""
    return (
        ReportDelivery.objects.filter(
            status=DeliveryStatus.FAILED,
            version__report__in=visible_reports(user, request).values("pk"),
        )
        .select_related("version__report__lab_request__submission")
        .order_by("-last_attempt_at")
    )


def custody_takers() -> QuerySet[User]:
    """People who may take an item into their own hands (evidence.transfer); a narrower list
    than `selectors.custody_candidates`, which also holds the witnesses."""
    roles = [role.value for role, actions in MATRIX.items() if Action.EVIDENCE_TRANSFER in actions]
    return (
        User.objects.filter(is_active=True, groups__name__in=roles)
        .distinct()
        .order_by("last_name", "username")
    )
