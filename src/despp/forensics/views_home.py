"""The laboratory home (/staff/lab/): what the signed-in person needs now, by role, and the
lists of submissions and requests."""

from typing import Any, cast

from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from despp.core.models import User
from despp.forensics import selectors
from despp.forensics.models import (
    LabRequestState,
    SubmissionStatus,
)
from despp.forensics.selectors_metrics import (
    BACKLOG_AGE,
    failed_deliveries,
    items_in_storage,
    released_reports,
    storage_counts,
    transfers_waiting,
)
from despp.forensics.views import lab_page, lab_permissions, render_lab

PANEL_ROWS = 15
PAGE_ROWS = 50
S = LabRequestState


def _agency_panels(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "my_submissions": list(
            selectors.list_submissions(user, request=request).order_by("-submitted_at")[:PANEL_ROWS]
        ),
        "my_reports": list(released_reports(user, request=request)[:PANEL_ROWS]),
    }


def _intake_panels(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    awaiting = selectors.list_submissions(
        user, request=request, status=SubmissionStatus.SUBMITTED
    ).order_by("submitted_at", "id")
    stored = items_in_storage(user, request=request)
    return {
        "awaiting_receipt": list(awaiting[:PANEL_ROWS]),
        "awaiting_receipt_count": awaiting.count(),
        "transfers_waiting": list(transfers_waiting(user, request=request)[:PANEL_ROWS]),
        "storage": storage_counts(user, request=request),
        "stored_items": list(stored[:PANEL_ROWS]),
        "stored_count": stored.count(),
    }


def _analyst_panels(request: HttpRequest) -> dict[str, Any]:
    user = cast(User, request.user)
    queues = []
    for section in selectors.sections_of(user):
        queue = selectors.section_queue(user, section.code, request=request)
        unassigned = queue.filter(state=S.REQUESTED)
        queues.append(
            {
                "section": section,
                "unassigned": list(unassigned[:PANEL_ROWS]),
                "unassigned_count": unassigned.count(),
                "open_count": queue.count(),
                "workload": selectors.section_workload(user, section.code),
            }
        )
    mine = selectors.list_requests(user, request=request, analyst=user, open_only=True)
    return {"queues": queues, "assigned_to_me": list(mine.order_by("requested_at", "id"))}


def _review_panels(request: HttpRequest, release: bool) -> dict[str, Any]:
    user = request.user
    panels: dict[str, Any] = {}
    for key, state in (
        ("technical_review", S.RESULTS_RECORDED),
        ("administrative_review", S.TECHNICAL_REVIEW),
    ):
        panels[key] = list(selectors.list_requests(user, request=request, state=state))
    if release:
        panels["releasable"] = list(
            selectors.list_requests(user, request=request, state=S.ADMINISTRATIVE_REVIEW)
        )
        panels["failed_deliveries"] = list(failed_deliveries(user, request=request)[:PANEL_ROWS])
    return panels


@lab_page
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    can = lab_permissions(user)
    context: dict[str, Any] = {
        "lab_can": can,
        "backlog_cutoff": timezone.now() - BACKLOG_AGE,
        "waiting_for_me": list(selectors.awaiting_acknowledgement(user, request=request)),
    }
    if can["transfer"]:
        context["in_my_hands"] = list(selectors.items_held_by(user, request=request))
    if can["submit"]:
        context |= _agency_panels(request)
    if can["intake"]:
        context |= _intake_panels(request)
    if can["analyze"]:
        context |= _analyst_panels(request)
    if can["review"] or can["release"]:
        context |= _review_panels(request, can["release"])
    return render_lab(request, "home.html", context)


@lab_page
def submission_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in SubmissionStatus.values:
        status = ""
    case_number = request.GET.get("case", "").strip()[:40]
    queryset = selectors.list_submissions(
        request.user, request=request, status=status, case_number=case_number
    ).order_by("-submitted_at", "-id")
    page = Paginator(queryset, PAGE_ROWS).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "case": case_number,
        "statuses": SubmissionStatus.choices,
        "query": _query(request, "page"),
    }
    return render_lab(request, "submission_list.html", context)


@lab_page
def request_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    sections = list(selectors.sections_of(user))
    section = request.GET.get("section", "")
    if section not in {s.code for s in sections}:
        section = ""
    state = request.GET.get("state", "")
    if state not in S.values:
        state = ""
    open_only = request.GET.get("open") == "1"
    queryset = selectors.list_requests(
        user, request=request, section=section, state=state, open_only=open_only
    ).order_by("requested_at", "id")
    page = Paginator(queryset.annotate(item_count=Count("items")), PAGE_ROWS).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "sections": sections,
        "section": section,
        "state": state,
        "states": S.choices,
        "open_only": open_only,
        "backlog_cutoff": timezone.now() - BACKLOG_AGE,
        "query": _query(request, "page"),
    }
    return render_lab(request, "request_list.html", context)


def _query(request: HttpRequest, *drop: str) -> str:
    """The page's own filters, for the next-page links."""
    kept = request.GET.copy()
    for name in drop:
        kept.pop(name, None)
    return kept.urlencode()
