"""One lab request: its items, results and history (from its events), and the step its state
allows - assign, start, record results, hand in, technical and administrative review,
release, cancel. Who may take a step is decided by the services; the page offers each form to
the roles that could take it and shows any refusal in words."""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from despp.core.models import Event, User
from despp.forensics import selectors, services
from despp.forensics.events import Kind
from despp.forensics.models import (
    LabRequest,
    LabRequestState,
    Report,
    ReviewKind,
    ReviewOutcome,
)
from despp.forensics.services._common import in_section
from despp.forensics.views import (
    attempt,
    lab_page,
    lab_permissions,
    one_or_404,
    render_lab,
)
from despp.forensics.views_forms import ReasonForm
from despp.forensics.views_forms_work import AssignForm, ResultForm, ReviewForm
from despp.forensics.workflow import Step, allowed_steps

S = LabRequestState
REVIEW_STATES = {
    ReviewKind.TECHNICAL: S.RESULTS_RECORDED,
    ReviewKind.ADMINISTRATIVE: S.TECHNICAL_REVIEW,
}


def _history(events: list[Event]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        data = event.data
        details = []
        for key, label in (("analyst_name", "analyst"), ("finding", "finding"),
                           ("method_name", "method"), ("method_version", "version"),
                           ("instrument_tag", "instrument"), ("outcome", "outcome"),
                           ("comments", "comments"), ("reason", "reason")):  # fmt: skip
            if data.get(key):
                details.append(f"{label}: {data[key]}")
        rows.append(
            {
                "event": event,
                "label": Kind(event.kind).label if event.kind in Kind.values else event.kind,
                "details": "; ".join(details),
                "hash": event.hash[:12],
            }
        )
    return rows


def _options(user: User, lab_request: LabRequest) -> dict[str, Any]:
    can = lab_permissions(user)
    member = in_section(user, lab_request.section_id)
    steps = set(allowed_steps(lab_request.state))
    mine = lab_request.analyst_id == user.pk
    return {
        "member": member,
        "take": can["analyze"] and member and Step.ASSIGN in steps,
        "assign": can["release"] and member and bool(steps & {Step.ASSIGN, Step.REASSIGN}),
        "start": mine and bool(steps & {Step.START, Step.RESTART}),
        "record": mine and Step.RECORD_RESULT in steps,
        "complete": mine and Step.COMPLETE in steps,
        "review": can["review"] and member and lab_request.state in REVIEW_STATES.values(),
        "release": can["release"] and member and Step.RELEASE in steps,
        "release_pending": can["release"] and member
        and lab_request.state in {S.RESULTS_RECORDED, S.TECHNICAL_REVIEW},
        "cancel": can["release"] and member and Step.CANCEL in steps,
    }  # fmt: skip


def _result_form(lab_request: LabRequest, data: Any = None) -> ResultForm:
    return ResultForm(
        data,
        methods=selectors.methods_for(lab_request),
        instruments=selectors.instruments_for(lab_request),
        items=lab_request.items.order_by("id"),
        results=lab_request.results.filter(superseded_by__isnull=True),
        prefix="result",
    )


def _assign_form(user: User, lab_request: LabRequest, data: Any = None) -> AssignForm:
    workload = selectors.section_workload(user, lab_request.section.code)
    return AssignForm(data, workload=workload, prefix="assign")


def _review_kind(lab_request: LabRequest) -> str:
    if lab_request.state == S.TECHNICAL_REVIEW:
        return ReviewKind.ADMINISTRATIVE
    return ReviewKind.TECHNICAL


def _request_page(
    request: HttpRequest,
    pk: int,
    *,
    forms: dict[str, Form] | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    lab_request = selectors.get_lab_request(user, pk, request=request)
    options = _options(user, lab_request)
    forms = forms or {}
    if options["assign"]:
        forms.setdefault("assign", _assign_form(user, lab_request))
    if options["record"]:
        forms.setdefault("result", _result_form(lab_request))
    if options["review"]:
        forms.setdefault("review", ReviewForm(prefix="review"))
    if options["cancel"]:
        forms.setdefault("cancel", ReasonForm(prefix="cancel"))
    results = lab_request.results.select_related("method", "instrument", "analyst", "item")
    context = {
        "lab_request": lab_request,
        "submission": lab_request.submission,
        "items": list(lab_request.items.select_related("holder", "location").order_by("id")),
        "results": list(results.order_by("recorded_at", "id")),
        "reviews": list(lab_request.reviews.select_related("reviewer").order_by("at", "id")),
        "history": _history(selectors.request_history(lab_request)),
        "report": Report.objects.filter(lab_request=lab_request).first(),
        "options": options,
        "forms": forms,
        "review_kind": _review_kind(lab_request),
        "refusal": refusal,
    }
    return render_lab(request, "request.html", context, status=status)


@lab_page
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _request_page(request, pk)


def _request_or_404(request: HttpRequest, pk: int) -> LabRequest:
    found: LabRequest = one_or_404(selectors.visible_requests(request.user), pk, "lab request")
    return found


def _back(pk: int) -> str:
    return reverse("forensics:request", args=[pk])


# Each step: the form it needs (or none), and what it does (the service call), returning what
# to tell the person. The services check roles, section, analyst and state; the forms only
# check what the person typed.
FormMaker = Callable[[User, LabRequest, Any], Form]
Runner = Callable[[User, LabRequest, dict[str, Any], HttpRequest], str]


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _take(user: User, lab_request: LabRequest, _: dict[str, Any], request: HttpRequest) -> str:
    services.assign_request(user, lab_request, user, request=request)
    return "The request is yours: start the analysis when you are ready."


def _assign(user: User, lab_request: LabRequest, data: dict[str, Any], request: HttpRequest) -> str:
    services.assign_request(user, lab_request, data["analyst"], request=request)
    return f"Assigned to {_name(data['analyst'])}."


def _start(user: User, lab_request: LabRequest, _: dict[str, Any], request: HttpRequest) -> str:
    services.start_analysis(user, lab_request, request=request)
    return "Analysis started."


def _record(user: User, lab_request: LabRequest, data: dict[str, Any], request: HttpRequest) -> str:
    services.record_result(user, lab_request, request=request, **data)
    return "Result recorded."


def _complete(user: User, lab_request: LabRequest, _: dict[str, Any], request: HttpRequest) -> str:
    services.complete_analysis(user, lab_request, request=request)
    return "Handed in for technical review."


def _review(user: User, lab_request: LabRequest, data: dict[str, Any], request: HttpRequest) -> str:
    kind = request.POST.get("kind", "")
    if kind not in ReviewKind.values:
        kind = _review_kind(lab_request)
    services.review_request(user, lab_request, kind=kind, outcome=data["outcome"],
                            comments=data["comments"], request=request)  # fmt: skip
    verdict = "approved" if data["outcome"] == ReviewOutcome.APPROVED else "returned for rework"
    return f"{ReviewKind(kind).label}: {verdict}."


def _release(user: User, lab_request: LabRequest, _: dict[str, Any], request: HttpRequest) -> str:
    services.release_request(user, lab_request, request=request)
    return "Report released to the submitting agency; deliveries are listed on the report."


def _cancel(user: User, lab_request: LabRequest, data: dict[str, Any], request: HttpRequest) -> str:
    services.cancel_request(user, lab_request, reason=data["reason"], request=request)
    return "Request cancelled."


STEPS: dict[str, tuple[FormMaker | None, Runner]] = {
    "take": (None, _take),
    "assign": (_assign_form, _assign),
    "start": (None, _start),
    "result": (lambda _, lab_request, data: _result_form(lab_request, data), _record),
    "complete": (None, _complete),
    "review": (lambda *args: ReviewForm(args[2], prefix="review"), _review),
    "release": (None, _release),
    "cancel": (lambda *args: ReasonForm(args[2], prefix="cancel"), _cancel),
}


@require_POST
@lab_page
def request_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """One step of the request's work (see STEPS); a refusal shows the page again with the
    reason (409) or the form's errors (400), nothing written."""
    if step not in STEPS:
        raise Http404("No such step.")
    user: User = request.user  # type: ignore[assignment]
    lab_request = _request_or_404(request, pk)
    make_form, run = STEPS[step]
    return attempt(
        request,
        key=step,
        form=make_form(user, lab_request, request.POST) if make_form is not None else None,
        call=lambda data: run(user, lab_request, data, request),
        show=partial(_request_page, request, pk),
        back=_back(pk),
    )
