"""Reads of the laboratory, always scoped to the caller.

Who sees what (evidence.view is needed for anything at all; without it: 403, audited):
- laboratory intake (evidence.intake) and statewide roles: every submission, item, request
  and report;
- analysts and reviewers: the requests of the sections they work in, the items of those
  requests, their submissions and reports, and any item they hold or are asked to
  acknowledge or witness;
- agency users (troopers, supervisors, police departments): their own agency's submissions
  (and those of agencies below it), with the items, requests and released reports.

A record outside that scope is a 404, never a 403. Every look at an item, a custody history, a
request or a report is recorded in the access audit (`get_*`, `custody_history`); lists are
recorded as searches.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, Q, QuerySet, Value, When
from django.http import Http404, HttpRequest

from despp.core import audit
from despp.core.models import AuditAction, Event, User
from despp.core.permissions import Action, Role, can, require
from despp.core.scoping import visible_agency_ids
from despp.forensics.models import (
    OPEN_STATES,
    ExaminationType,
    Instrument,
    Item,
    LabRequest,
    Method,
    MethodStatus,
    Priority,
    Report,
    ReportDelivery,
    ReportVersion,
    Section,
    SectionMembership,
    StorageLocation,
    Submission,
)


@dataclass(frozen=True)
class LabScope:
    everything: bool
    sections: frozenset[int]
    agencies: frozenset[int] | None  # None: every agency
    user_id: int


def lab_scope(user: Any, request: HttpRequest | None = None) -> LabScope:
    """What the caller may see; PermissionDenied (audited) without evidence.view."""
    require(user, Action.EVIDENCE_VIEW, request=request)
    agencies = visible_agency_ids(user)
    everything = can(user, Action.EVIDENCE_INTAKE) or agencies is None
    sections = frozenset(
        SectionMembership.objects.filter(user=user).values_list("section_id", flat=True)
    )
    return LabScope(everything, sections, agencies, user.pk)


def _agency_q(scope: LabScope, path: str) -> Q:
    if scope.agencies is None:
        return Q()
    return Q(**{f"{path}__in": scope.agencies})


def visible_requests(user: Any, request: HttpRequest | None = None) -> QuerySet[LabRequest]:
    scope = lab_scope(user, request)
    queryset = LabRequest.objects.select_related(
        "submission__agency", "examination_type", "section", "analyst"
    )
    if scope.everything:
        return queryset
    return queryset.filter(
        _agency_q(scope, "submission__agency")
        | Q(section__in=scope.sections)
        | Q(analyst_id=scope.user_id)
    )


def visible_items(user: Any, request: HttpRequest | None = None) -> QuerySet[Item]:
    scope = lab_scope(user, request)
    queryset = Item.objects.select_related(
        "submission__agency",
        "holder",
        "parent",
        "pending_to",
        "pending_witness",
        # A location's path walks up to its building (four levels at most).
        "location__parent__parent__parent",
        "pending_location__parent__parent__parent",
    )
    if scope.everything:
        return queryset
    in_my_sections = LabRequest.objects.filter(section__in=scope.sections).values("items")
    return queryset.filter(
        _agency_q(scope, "submission__agency")
        | Q(pk__in=in_my_sections)
        | Q(holder_id=scope.user_id)
        | Q(pending_to_id=scope.user_id)
        | Q(pending_witness_id=scope.user_id)
    )


def visible_submissions(user: Any, request: HttpRequest | None = None) -> QuerySet[Submission]:
    scope = lab_scope(user, request)
    queryset = Submission.objects.select_related("agency", "submitted_by")
    if scope.everything:
        return queryset
    return queryset.filter(
        _agency_q(scope, "agency")
        | Q(pk__in=visible_requests(user).values("submission_id"))
        | Q(pk__in=visible_items(user).values("submission_id"))
    )


def visible_reports(user: Any, request: HttpRequest | None = None) -> QuerySet[Report]:
    return Report.objects.select_related(
        "lab_request__submission__agency", "lab_request__examination_type"
    ).filter(lab_request__in=visible_requests(user, request).values("pk"))


def _audit(
    request: HttpRequest | None,
    user: Any,
    action: AuditAction,
    kind: str,
    pk: object,
    **detail: Any,
) -> None:
    audit.record(action, request=request, user=user, object_type=kind, object_id=pk,
                 detail=detail)  # fmt: skip


def _one(queryset: QuerySet[Any], what: str, **lookup: Any) -> Any:
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404(f"No {what} matches the given query.")
    return found


# --- lists (audited as searches) ----------------------------------------------------------------


def list_submissions(
    user: Any, *, request: HttpRequest | None = None, status: str = "", case_number: str = ""
) -> QuerySet[Submission]:
    queryset = visible_submissions(user, request).annotate(item_count=Count("items"))
    if status:
        queryset = queryset.filter(status=status)
    if case_number:
        queryset = queryset.filter(case_number__iexact=case_number.strip())
    _audit(request, user, AuditAction.SEARCH, "submission", "", status=status,
           case_number=case_number)  # fmt: skip
    return queryset


def list_requests(
    user: Any,
    *,
    request: HttpRequest | None = None,
    section: str = "",
    state: str = "",
    analyst: User | None = None,
    open_only: bool = False,
) -> QuerySet[LabRequest]:
    queryset = visible_requests(user, request)
    if section:
        queryset = queryset.filter(section__code=section)
    if state:
        queryset = queryset.filter(state=state)
    if analyst is not None:
        queryset = queryset.filter(analyst=analyst)
    if open_only:
        queryset = queryset.filter(state__in=OPEN_STATES)
    _audit(request, user, AuditAction.SEARCH, "lab_request", "", section=section, state=state)
    return queryset


def list_reports(user: Any, *, request: HttpRequest | None = None) -> QuerySet[Report]:
    _audit(request, user, AuditAction.SEARCH, "report", "")
    return visible_reports(user, request).order_by("-id")


def items_held_by(user: Any, *, request: HttpRequest | None = None) -> QuerySet[Item]:
    """Items in the caller's hands."""
    return visible_items(user, request).filter(holder_id=user.pk)


def awaiting_acknowledgement(user: Any, *, request: HttpRequest | None = None) -> QuerySet[Item]:
    """Items whose transfer waits for the caller (as receiver or as witness)."""
    return visible_items(user, request).filter(
        Q(pending_witness_id=user.pk) | Q(pending_to_id=user.pk, pending_witness__isnull=True)
    )


# --- one record (every look audited) ----------------------------------------------------------


def get_submission(user: Any, pk: int, *, request: HttpRequest | None = None) -> Submission:
    submission: Submission = _one(visible_submissions(user, request), "submission", pk=pk)
    _audit(request, user, AuditAction.READ, "submission", pk)
    return submission


def submission_items(user: Any, submission: Submission) -> QuerySet[Item]:
    """The submission's items the caller may see (an analyst: those of their sections)."""
    return visible_items(user).filter(submission=submission).order_by("id")


def submission_requests(user: Any, submission: Submission) -> QuerySet[LabRequest]:
    return (
        visible_requests(user).filter(submission=submission).select_related("report").order_by("id")
    )


def get_item(user: Any, pk: int, *, request: HttpRequest | None = None) -> Item:
    item: Item = _one(visible_items(user, request), "item", pk=pk)
    _audit(request, user, AuditAction.READ, "item", pk)
    return item


def get_item_by_barcode(user: Any, barcode: str, *, request: HttpRequest | None = None) -> Item:
    item: Item = _one(visible_items(user, request), "item", barcode=barcode.strip())
    _audit(request, user, AuditAction.READ, "item", item.pk, barcode=item.barcode)
    return item


def custody_history(
    user: Any, pk: int, *, request: HttpRequest | None = None
) -> tuple[Item, list[Event]]:
    """The item and every event of its custody stream, oldest first (audited)."""
    item: Item = _one(visible_items(user, request), "item", pk=pk)
    _audit(request, user, AuditAction.READ, "item", pk, what="custody history")
    events = list(Event.objects.filter(stream=item.stream).order_by("position"))
    return item, events


def get_lab_request(user: Any, pk: int, *, request: HttpRequest | None = None) -> LabRequest:
    lab_request: LabRequest = _one(visible_requests(user, request), "lab request", pk=pk)
    _audit(request, user, AuditAction.READ, "lab_request", pk)
    return lab_request


def request_history(lab_request: LabRequest) -> list[Event]:
    """The request's events (call after get_lab_request, which scoped and audited it)."""
    return list(Event.objects.filter(stream=lab_request.stream).order_by("position"))


def get_report(user: Any, pk: int, *, request: HttpRequest | None = None) -> Report:
    report: Report = _one(visible_reports(user, request), "report", pk=pk)
    _audit(request, user, AuditAction.READ, "report", pk)
    return report


def report_versions(report: Report) -> QuerySet[ReportVersion]:
    """Every version, newest first (call after get_report)."""
    return report.versions.select_related("released_by").order_by("-version")


def get_report_version(
    user: Any, report_pk: int, version: int, *, request: HttpRequest | None = None
) -> ReportVersion:
    found: ReportVersion = _one(
        ReportVersion.objects.select_related("report", "released_by").filter(
            report__in=visible_reports(user, request).values("pk")
        ),
        "report version",
        report_id=report_pk,
        version=version,
    )
    _audit(request, user, AuditAction.READ, "report", report_pk, version=version)
    return found


def report_deliveries(report: Report) -> QuerySet[ReportDelivery]:
    return ReportDelivery.objects.filter(version__report=report).select_related("version")


# --- queues and reference ---------------------------------------------------------------------


def sections_of(user: Any) -> QuerySet[Section]:
    """The sections the caller works in (all of them for intake)."""
    scope = lab_scope(user)
    if scope.everything:
        return Section.objects.all()
    return Section.objects.filter(pk__in=scope.sections)


def section_queue(
    user: Any, section_code: str, *, request: HttpRequest | None = None
) -> QuerySet[LabRequest]:
    """A section's open requests, most urgent and oldest first; 404 for a section the caller
    does not work in."""
    section = _one(sections_of(user), "section", code=section_code)
    urgency = Case(
        When(priority=Priority.COURT, then=Value(0)),
        When(priority=Priority.RUSH, then=Value(1)),
        default=Value(2),
    )
    queryset = list_requests(user, request=request, section=section.code, open_only=True)
    return queryset.annotate(urgency=urgency).order_by("urgency", "requested_at", "id")


def section_workload(user: Any, section_code: str) -> list[dict[str, Any]]:
    """Each analyst of the section with the number of open requests assigned to them."""
    section = _one(sections_of(user), "section", code=section_code)
    analysts = User.objects.filter(lab_memberships__section=section, is_active=True).order_by(
        "last_name", "username"
    )
    counts = dict(
        LabRequest.objects.filter(section=section, state__in=OPEN_STATES, analyst__isnull=False)
        .values_list("analyst_id")
        .annotate(n=Count("id"))
        .values_list("analyst_id", "n")
    )
    return [
        {"analyst": analyst, "open": counts.get(analyst.pk, 0)}
        for analyst in analysts
        if can(analyst, Action.LAB_ANALYZE)
    ]


def examination_types() -> QuerySet[ExaminationType]:
    return ExaminationType.objects.filter(active=True).select_related("section")


def storage_locations() -> QuerySet[StorageLocation]:
    return StorageLocation.objects.filter(active=True).select_related("parent__parent__parent")


def methods_for(lab_request: LabRequest) -> QuerySet[Method]:
    return Method.objects.filter(section=lab_request.section, status=MethodStatus.VALIDATED)


def instruments_for(lab_request: LabRequest) -> QuerySet[Instrument]:
    return Instrument.objects.filter(section=lab_request.section, in_service=True)


def custody_candidates() -> QuerySet[User]:
    """People who may take custody of evidence or witness its handling (lab staff)."""
    return (
        User.objects.filter(
            is_active=True,
            groups__name__in=[Role.LAB_INTAKE, Role.ANALYST, Role.REVIEWER],
        )
        .distinct()
        .order_by("last_name", "username")
    )
