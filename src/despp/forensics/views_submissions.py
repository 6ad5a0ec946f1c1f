"""Submitting evidence (agency), the submission page, receiving its items (intake) and their
labels."""

from typing import Any, cast

from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict, ErrorList
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from despp.core.errors import Conflict
from despp.core.models import User
from despp.core.permissions import Action, can, require
from despp.forensics import selectors, services
from despp.forensics.models import ItemStatus, Submission
from despp.forensics.views import (
    apply_formset_errors,
    apply_service_errors,
    done,
    lab_page,
    one_or_404,
    render_lab,
)
from despp.forensics.views_forms import (
    ItemFormSet,
    ReceiptForm,
    ReceiptFormSet,
    SubmissionForm,
    examination_choices,
)

ITEM_ROWS = 3  # empty item rows on a new form ("add another item" adds one more)
ITEMS_PREFIX = "items"
RECEIPT_PREFIX = "receipt"
ITEM_RELATIONS = (
    "holder",
    "location__parent__parent__parent",
    "pending_to",
    "pending_witness",
    "pending_location__parent__parent__parent",
)


def _submission_context(
    form: SubmissionForm,
    items: Any,
    groups: list[tuple[str, list[tuple[str, str]]]],
) -> dict[str, Any]:
    return {"form": form, "items": items, "exam_groups": groups}


def _officer_defaults(user: User) -> dict[str, Any]:
    return {
        "officer_name": user.get_full_name() or user.get_username(),
        "officer_badge": user.badge_number,
        "officer_email": user.email,
        "priority": "routine",
    }


def _with_more_rows(data: Any, prefix: str) -> Any:
    """The posted data with one more (empty) row, so "add another item" keeps what was typed."""
    more = data.copy()
    total = int(more.get(f"{prefix}-TOTAL_FORMS", "1") or 1)
    more[f"{prefix}-TOTAL_FORMS"] = str(min(total + 1, 200))
    more[f"{prefix}-{total}-quantity"] = "1"
    return more


def silence(form: Any, formset: Any) -> None:
    """Show what was typed without errors (the person asked for another row, not to submit):
    the forms count as checked, with nothing found."""
    for each in (form, *formset.forms):
        each._errors = ErrorDict()
    formset._errors = [ErrorDict() for _ in formset.forms]
    formset._non_form_errors = ErrorList()


def _spec(form: SubmissionForm, rows: list[Any]) -> services.SubmissionSpec:
    data = form.cleaned_data
    wanted: dict[str, list[int]] = {}
    for position, row in enumerate(rows):
        for code in row.cleaned_data["examinations"]:
            wanted.setdefault(code, []).append(position)
    return services.SubmissionSpec(
        case_number=data["case_number"],
        offense=data["offense"],
        offense_date=data["offense_date"],
        officer_name=data["officer_name"],
        officer_badge=data["officer_badge"],
        officer_email=data["officer_email"],
        priority=data["priority"],
        court_date=data["court_date"],
        notes=data["notes"],
        notify_emails=tuple(data["notify_emails"]),
        items=[
            services.ItemSpec(
                description=row.cleaned_data["description"],
                item_type=row.cleaned_data["item_type"],
                packaging=row.cleaned_data["packaging"],
                seal_number=row.cleaned_data["seal_number"],
                quantity=row.cleaned_data["quantity"],
            )
            for row in rows
        ],
        examinations=[services.ExamSpec(code, positions) for code, positions in wanted.items()],
    )


@lab_page
def submission_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    require(user, Action.EVIDENCE_SUBMIT, request=request)
    groups = examination_choices()
    choices = [choice for _, pairs in groups for choice in pairs]
    kwargs = {"form_kwargs": {"exam_choices": choices}, "prefix": ITEMS_PREFIX}
    if request.method != "POST":
        form = SubmissionForm(initial=_officer_defaults(user))
        formset = ItemFormSet(**kwargs)  # type: ignore[arg-type]
        formset.extra = ITEM_ROWS - 1
        return render_lab(
            request, "submission_form.html", _submission_context(form, formset, groups)
        )
    if "add_item" in request.POST:
        data = _with_more_rows(request.POST, ITEMS_PREFIX)
        form = SubmissionForm(data)
        formset = ItemFormSet(data, **kwargs)  # type: ignore[arg-type]
        silence(form, formset)
        context = _submission_context(form, formset, groups)
        return render_lab(request, "submission_form.html", context)
    form = SubmissionForm(request.POST)
    formset = ItemFormSet(request.POST, **kwargs)  # type: ignore[arg-type]
    status = 400
    if form.is_valid() and formset.is_valid():
        rows = [row for row in formset.forms if row.has_changed() and row.cleaned_data]
        try:
            submission = services.submit_evidence(user, _spec(form, rows), request=request)
        except Conflict as refusal:
            form.add_error(None, refusal.detail)
            status = 409
        except ValidationError as error:
            if not apply_formset_errors(formset, rows, error, ITEMS_PREFIX):
                apply_service_errors(form, error)
        else:
            return done(
                request,
                f"Submitted as {submission.lab_number}. Print the labels, fix one to each "
                "item, and send the items to the laboratory.",
                reverse("forensics:submission", args=[submission.pk]),
            )
    context = _submission_context(form, formset, groups)
    return render_lab(request, "submission_form.html", context, status=status)


def _receipt_initial(items: list[Any]) -> list[dict[str, Any]]:
    return [
        {"item_id": item.pk, "outcome": ReceiptForm.RECEIVE, "seal_intact": "yes"} for item in items
    ]


def _submission_page(
    request: HttpRequest,
    pk: int,
    *,
    receipts: Any = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    submission = selectors.get_submission(user, pk, request=request)
    items = list(selectors.submission_items(user, submission).select_related(*ITEM_RELATIONS))
    lab_requests = list(selectors.submission_requests(user, submission).select_related("report"))
    receivable = [item for item in items if item.status == ItemStatus.SUBMITTED]
    context: dict[str, Any] = {
        "submission": submission,
        "items": items,
        "lab_requests": lab_requests,
        "refusal": refusal,
    }
    if receivable and (receipts is not None or can(user, Action.EVIDENCE_INTAKE)):
        if receipts is None:
            receipts = ReceiptFormSet(prefix=RECEIPT_PREFIX, initial=_receipt_initial(receivable))
        by_id = {item.pk: item for item in items}
        context["receipts"] = receipts
        context["receipt_rows"] = [
            (row, by_id.get(_int(row["item_id"].value()) or 0)) for row in receipts.forms
        ]
    return render_lab(request, "submission.html", context, status=status)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@lab_page
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _submission_page(request, pk)


@require_POST
@lab_page
def submission_receive(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    require(user, Action.EVIDENCE_INTAKE, request=request)
    submission: Submission = one_or_404(selectors.visible_submissions(user), pk, "submission")
    receipts = ReceiptFormSet(request.POST, prefix=RECEIPT_PREFIX)
    if not receipts.is_valid():
        return _submission_page(request, pk, receipts=receipts, status=400)
    sent, chosen = [], []
    for row in receipts.forms:
        data = row.cleaned_data
        if data["outcome"] == ReceiptForm.LATER:
            continue
        chosen.append(row)
        sent.append(
            services.Receipt(
                item_id=data["item_id"],
                received=data["outcome"] == ReceiptForm.RECEIVE,
                seal_intact=data["seal_intact"],
                discrepancy=data["discrepancy"],
            )
        )
    if not sent:
        refusal = "Nothing was recorded: every item was marked “Not now”."
        return _submission_page(request, pk, receipts=receipts, refusal=refusal, status=400)
    try:
        done_items = services.receive_items(user, submission, sent, request=request)
    except Conflict as error:
        return _submission_page(request, pk, receipts=receipts, refusal=error.detail, status=409)
    except ValidationError as error:
        if not apply_formset_errors(receipts, chosen, error, "receipts"):
            refusal = " ".join(error.messages)
            return _submission_page(request, pk, receipts=receipts, refusal=refusal, status=400)
        return _submission_page(request, pk, receipts=receipts, status=400)
    received = sum(1 for item in done_items if item.status == ItemStatus.IN_LAB)
    missing = len(done_items) - received
    message = f"Received {received} item{'s' if received != 1 else ''}, now in your custody."
    if missing:
        message += f" {missing} recorded as not delivered."
    return done(request, message, reverse("forensics:submission", args=[pk]))
