"""One item: where it is, its full custody timeline (from its events), and what can happen to
it next - transfer, acknowledge or decline, withdraw, split into sub-items, disposition - plus
its custody PDF and a look-up by barcode."""

from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from despp.core.errors import Conflict
from despp.core.eventlog import verify_streams
from despp.core.models import Agency, Event, User
from despp.core.permissions import Action, can
from despp.forensics import selectors, services
from despp.forensics.events import Kind
from despp.forensics.models import Item, ItemStatus
from despp.forensics.pdf.custody import describe
from despp.forensics.selectors_metrics import custody_takers
from despp.forensics.services._common import is_lab_staff
from despp.forensics.views import (
    apply_formset_errors,
    apply_service_errors,
    attempt,
    done,
    lab_page,
    one_or_404,
    render_lab,
)
from despp.forensics.views_forms import (
    AcknowledgeForm,
    DispositionForm,
    ReasonForm,
    SubItemFormSet,
    TransferForm,
)

HASH_SHOWN = 12  # characters of a hash on the page (the PDF prints them whole)


def _timeline(events: list[Event]) -> list[dict[str, Any]]:
    return [
        {
            "event": event,
            "label": Kind(event.kind).label if event.kind in Kind.values else event.kind,
            "text": describe(event).replace(" -> ", " → "),
            "hash": event.hash[:HASH_SHOWN],
            "prev_hash": event.prev_hash[:HASH_SHOWN],
            "parent_item": event.data.get("parent")
            if event.kind == Kind.ITEM_CREATED_FROM
            else None,
        }
        for event in events
    ]


def _options(user: User, item: Item) -> dict[str, bool]:
    """Which forms the page offers (the services decide again on every POST)."""
    mine = item.holder_id == user.pk
    stored = item.holder_id is None and item.location_id is not None
    movable = item.status == ItemStatus.IN_LAB and not item.has_pending_transfer
    awaited = item.pending_witness_id or item.pending_to_id
    return {
        "transfer": movable and can(user, Action.EVIDENCE_TRANSFER)
        and (mine or (stored and is_lab_staff(user))),
        "acknowledge": item.has_pending_transfer and awaited == user.pk,
        "withdraw": item.has_pending_transfer and user.pk in {item.pending_from_id, awaited},
        "split": movable and mine and can(user, Action.EVIDENCE_TRANSFER),
        "dispose": movable and can(user, Action.EVIDENCE_INTAKE) and (mine or stored),
    }  # fmt: skip


def _transfer_form(user: User, data: Any = None) -> TransferForm:
    return TransferForm(
        data,
        takers=custody_takers(),
        witnesses=selectors.custody_candidates(),
        locations=selectors.storage_locations(),
        actor=user,
        prefix="transfer",
    )


def _disposition_form(item: Item, data: Any = None) -> DispositionForm:
    return DispositionForm(
        data,
        people=selectors.custody_candidates(),
        agencies=Agency.objects.filter(active=True).order_by("name"),
        initial={"recipient_agency": item.submission.agency_id},
        prefix="dispose",
    )


def _split_forms(data: Any = None) -> tuple[ReasonForm, Any]:
    formset = SubItemFormSet(data, prefix="parts")
    if data is None:
        formset.extra = 2
    return ReasonForm(data, prefix="split"), formset


def _item_page(
    request: HttpRequest,
    pk: int,
    *,
    forms: dict[str, Any] | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    item, events = selectors.custody_history(user, pk, request=request)
    item = (
        Item.objects.select_related(
            "submission__agency", "holder", "location__parent__parent__parent", "parent",
            "pending_from", "pending_to", "pending_witness",
            "pending_location__parent__parent__parent",
        ).get(pk=item.pk)
    )  # fmt: skip
    options = _options(user, item)
    forms = forms or {}
    posted = list(forms)  # the form just sent opens; the others stay as they were
    if options["transfer"]:
        forms.setdefault("transfer", _transfer_form(user))
    if options["acknowledge"]:
        seal = "yes" if item.seal_intact is not False else "no"
        forms.setdefault(
            "acknowledge", AcknowledgeForm(prefix="ack", initial={"seal_intact": seal})
        )
    if options["withdraw"]:
        forms.setdefault("withdraw", ReasonForm(prefix="withdraw"))
    if options["split"] and "split" not in forms:
        forms["split"], forms["parts"] = _split_forms()
    if options["dispose"]:
        forms.setdefault("dispose", _disposition_form(item))
    check = verify_streams([item.stream], workers=1)
    context = {
        "item": item,
        "timeline": _timeline(events),
        "chain_ok": check.ok,
        "chain_broken": [str(link) for link in check.broken],
        "sub_items": list(item.sub_items.order_by("id")),
        "lab_requests": list(selectors.visible_requests(user).filter(items=item).order_by("id")),
        "options": options,
        "forms": forms,
        "posted": posted,
        "refusal": refusal,
        "awaited": item.pending_witness or item.pending_to,
    }
    return render_lab(request, "item.html", context, status=status)


@lab_page
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _item_page(request, pk)


def _item_or_404(request: HttpRequest, pk: int) -> Item:
    item: Item = one_or_404(selectors.visible_items(request.user), pk, "item")
    return item


def _back(pk: int) -> str:
    return reverse("forensics:item", args=[pk])


# Each custody step: its form and what it does (the service call), returning what to tell
# the person. Splitting has its own view (a reason and a set of sub-item rows).
FormMaker = Callable[[User, Item, Any], Form]
Runner = Callable[[User, Item, dict[str, Any], HttpRequest], str]


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _transfer(user: User, item: Item, data: dict[str, Any], request: HttpRequest) -> str:
    services.transfer_item(user, item, request=request, **data)
    confirmer = data["witness"] or data["to_user"]
    what = "witness the move" if data["witness"] else "acknowledge receipt"
    return f"Transfer started: it waits for {_name(confirmer)} to {what}."


def _acknowledge(user: User, item: Item, data: dict[str, Any], request: HttpRequest) -> str:
    services.acknowledge_transfer(user, item, request=request, **data)
    return "Acknowledged: the transfer is complete."


def _withdraw(user: User, item: Item, data: dict[str, Any], request: HttpRequest) -> str:
    services.withdraw_transfer(user, item, reason=data["reason"], request=request)
    return "The transfer was called off; the item stays where it was."


def _dispose(user: User, item: Item, data: dict[str, Any], request: HttpRequest) -> str:
    disposition = services.dispose_item(user, item, request=request, **data)
    return f"Recorded: {disposition.get_kind_display().lower()}."


STEPS: dict[str, tuple[FormMaker, Runner]] = {
    "transfer": (lambda user, _, data: _transfer_form(user, data), _transfer),
    "acknowledge": (lambda *args: AcknowledgeForm(args[2], prefix="ack"), _acknowledge),
    "withdraw": (lambda *args: ReasonForm(args[2], prefix="withdraw"), _withdraw),
    "dispose": (lambda _, item, data: _disposition_form(item, data), _dispose),
}


@require_POST
@lab_page
def item_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """One custody step (see STEPS); a refusal shows the page again with the reason (409) or
    the form's errors (400), nothing written."""
    if step not in STEPS:
        raise Http404("No such step.")
    user: User = request.user  # type: ignore[assignment]
    item = _item_or_404(request, pk)
    make_form, run = STEPS[step]
    return attempt(
        request,
        key=step,
        form=make_form(user, item, request.POST),
        call=lambda data: run(user, item, _without(data, "destination"), request),
        show=partial(_item_page, request, pk),
        back=_back(pk),
    )


def _without(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name not in names}


@require_POST
@lab_page
def item_split(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    item = _item_or_404(request, pk)
    reason, parts = _split_forms(request.POST)
    forms = {"split": reason, "parts": parts}
    if not (reason.is_valid() and parts.is_valid()):
        return _item_page(request, pk, forms=forms, status=400)
    rows = [row for row in parts.forms if row.has_changed() and row.cleaned_data]
    specs = [services.SubItemSpec(**row.cleaned_data) for row in rows]
    try:
        children = services.split_item(
            user, item, specs, reason=reason.cleaned_data["reason"], request=request
        )
    except Conflict as error:
        return _item_page(request, pk, forms=forms, refusal=error.detail, status=409)
    except ValidationError as error:
        if not apply_formset_errors(parts, rows, error, "parts"):
            apply_service_errors(reason, error)
        return _item_page(request, pk, forms=forms, status=400)
    numbers = ", ".join(child.item_number for child in children)
    return done(request, f"Split: sub-item(s) {numbers} are in your custody.", _back(pk))


@lab_page
def item_find(request: HttpRequest) -> HttpResponse:
    """A scanned or typed barcode opens its item (the item page audits the look)."""
    barcode = request.GET.get("barcode", "").strip()[:60]
    item = selectors.visible_items(request.user).filter(barcode__iexact=barcode).first()
    if barcode and item is not None:
        return HttpResponseRedirect(_back(item.pk))
    context = {"barcode": barcode, "not_found": bool(barcode)}
    return render_lab(request, "item_find.html", context, status=404 if barcode else 200)
