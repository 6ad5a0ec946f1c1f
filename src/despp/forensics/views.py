"""The laboratory's staff pages under /staff/lab/: what every page shares.

The pages are thin: reads go through `forensics.selectors` (scoped to the caller, a record
outside it is a 404, every look at an item, a request or a report is audited there) and every
change through `forensics.services`. A service's refusal is shown on the page it came from,
in words, with nothing written:
- `Conflict` (the item is not yours to transfer, you did the analysis you try to review, a
  report without both reviews): the page again, with the refusal at the top (409);
- `ValidationError`: the form again, with each message next to its field (400);
- `PermissionDenied` (the role lacks the action): the 403 page.

A POST finds its record through the selectors' scoped querysets without an audit entry of its
own (the service audits the write); the page shown afterwards audits its read, once.

Modules: views_home (the lab home), views_submissions, views_items (custody),
views_requests (lab work), views_reports, views_metrics; forms in views_forms*.
"""

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from despp.core.errors import Conflict
from despp.core.permissions import Action, can, require
from despp.forensics.services._common import is_lab_staff

View = Callable[..., HttpResponse]


def lab_page(view: View) -> View:
    """Signed in (else to sign-in), holding evidence.view (else 403, audited), never cached
    (the pages hold criminal-justice information)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        require(request.user, Action.EVIDENCE_VIEW, request=request)
        return view(request, *args, **kwargs)

    return login_required(never_cache(wrapper))


def one_or_404(queryset: QuerySet[Any], pk: int, what: str) -> Any:
    """A record from a scoped queryset, without an audit entry (for POSTs: the service audits
    the write and the page shown next audits the read)."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404(f"No {what} matches the given query.")
    return found


def apply_service_errors(form: Form, error: ValidationError, prefix: str = "") -> None:
    """Put a service's field errors next to the form's fields ("items.2.quantity" with
    prefix "items." lands on that form's quantity); the rest go on top of the form."""
    by_field = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    for name, messages_ in by_field.items():
        field = name.removeprefix(prefix) if prefix and name.startswith(prefix) else name
        target = field if field in form.fields else None
        for message in messages_:
            form.add_error(target, message)


def apply_formset_errors(
    formset: Any, forms: Sequence[Form], error: ValidationError, prefix: str
) -> bool:
    """Errors named "<prefix>.<n>.<field>" go to the n-th of `forms` (the rows sent to the
    service, in order); True when every message found a row."""
    placed = True
    by_field = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    for name, messages_ in by_field.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == prefix and parts[1].isdigit():
            index = int(parts[1])
            if index < len(forms):
                field = parts[2] if parts[2] in forms[index].fields else None
                for message in messages_:
                    forms[index].add_error(field, message)
                continue
        placed = False
    return placed


Show = Callable[..., HttpResponse]  # the page again: forms=, refusal=, status=


def attempt(
    request: HttpRequest,
    *,
    key: str,
    form: Form | None,
    call: Callable[[dict[str, Any]], str],
    show: Show,
    back: str,
) -> HttpResponse:
    """Check the form, run the service step `call` with its data; on success say what `call`
    returns and go `back`; on a refusal `show` the page again with the form as sent and the
    reason (409), or the errors next to their fields (400). Nothing is written then."""
    forms = {key: form} if form is not None else None
    if form is not None and not form.is_valid():
        return show(forms=forms, status=400)
    try:
        message = call(form.cleaned_data if form is not None else {})
    except Conflict as error:
        return show(forms=forms, refusal=error.detail, status=409)
    except ValidationError as error:
        if form is None:
            return show(refusal=" ".join(error.messages), status=400)
        apply_service_errors(form, error)
        return show(forms=forms, status=400)
    return done(request, message, back)


def done(request: HttpRequest, message: str, url: str) -> HttpResponseRedirect:
    """After a change: say what happened and show the page again (post/redirect/get)."""
    messages.success(request, message)
    return HttpResponseRedirect(url)


def lab_permissions(user: Any) -> dict[str, bool]:
    """What the pages offer the caller (the services check again on every change)."""
    return {
        "submit": can(user, Action.EVIDENCE_SUBMIT),
        "intake": can(user, Action.EVIDENCE_INTAKE),
        "transfer": can(user, Action.EVIDENCE_TRANSFER),
        "analyze": can(user, Action.LAB_ANALYZE),
        "review": can(user, Action.LAB_REVIEW),
        "release": can(user, Action.LAB_RELEASE),
        "staff": is_lab_staff(user),
    }


def render_lab(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("lab_can", lab_permissions(request.user))
    return render(request, f"forensics/{template}", context, status=status)
