"""The auditor's search over the access audit: /staff/audit/ and its CSV export.

Who may: `audit.read` (the auditor role). Anyone else signed in gets 403, as for every staff
function their roles lack (the refusal is audited); a signed-out visitor is sent to sign in.
Record-level scoping (404 outside one's agency) applies inside: an auditor without
`statewide.view` sees only their own agency's entries.
"""

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from despp.core.models import AccessAudit, Agency, AuditAction, AuditOutcome
from despp.core.permissions import Action, require
from despp.core.scoping import visible_agency_ids
from despp.core.selectors_audit import (
    AuditFilters,
    InvalidFilter,
    export_rows,
    search,
)

CSV_COLUMNS = (
    "id",
    "at_utc",
    "username",
    "agency",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "ip",
    "user_agent",
    "path",
    "detail",
)
# A cell starting with one of these is a formula to a spreadsheet (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AuditSearchForm(forms.Form):
    username = forms.CharField(label="User name", required=False, max_length=150)
    agency = forms.ChoiceField(label="Agency (and those under it)", required=False)
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *AuditAction.choices]
    )
    object_type = forms.CharField(label="Record type", required=False, max_length=60)
    object_id = forms.CharField(label="Record id", required=False, max_length=80)
    outcome = forms.ChoiceField(
        label="Outcome", required=False, choices=[("", "Any outcome"), *AuditOutcome.choices]
    )
    date_from = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    ip = forms.GenericIPAddressField(label="IP address", required=False)

    def __init__(self, data: QueryDict, *, user: Any) -> None:
        super().__init__(data)
        visible = visible_agency_ids(user)
        agencies = Agency.objects.order_by("name")
        if visible is not None:
            agencies = agencies.filter(pk__in=visible)
        agency_field = cast(forms.ChoiceField, self.fields["agency"])
        agency_field.choices = [
            ("", "Any agency"),
            *agencies.values_list("code", "name"),
        ]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must not be before the start date.")
        return cleaned

    def filters(self) -> AuditFilters:
        """The search the form describes; days are the site's local days (America/New_York)."""
        data = self.cleaned_data
        return AuditFilters(
            username=data["username"].strip(),
            agency=data["agency"],
            action=AuditAction(data["action"]) if data["action"] else None,
            object_type=data["object_type"].strip(),
            object_id=data["object_id"].strip(),
            outcome=AuditOutcome(data["outcome"]) if data["outcome"] else None,
            since=_start_of(data["date_from"]) if data["date_from"] else None,
            until=_start_of(data["date_to"] + timedelta(days=1)) if data["date_to"] else None,
            ip=data["ip"] or "",
        )


def _start_of(day: Any) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _search_form(request: HttpRequest) -> AuditSearchForm:
    return AuditSearchForm(request.GET, user=request.user)


@require_safe
@never_cache
@login_required
def audit_search(request: HttpRequest) -> HttpResponse:
    require(request.user, Action.AUDIT_READ, request=request)
    form = _search_form(request)
    context: dict[str, Any] = {"form": form, "page": None}
    if form.is_valid():
        try:
            context["page"] = search(
                request.user,
                form.filters(),
                request=request,
                cursor=request.GET.get("cursor", ""),
            )
        except InvalidFilter as exc:
            form.add_error(None, exc.message)
    status = 200 if form.is_valid() else 400
    context["filter_query"] = _filter_query(request.GET)
    context["cursor"] = request.GET.get("cursor", "")
    return render(request, "core/audit.html", context, status=status)


@require_safe
@never_cache
@login_required
def audit_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    require(request.user, Action.AUDIT_READ, request=request)
    form = _search_form(request)
    if not form.is_valid():
        context = {"form": form, "page": None, "filter_query": "", "cursor": ""}
        return render(request, "core/audit.html", context, status=400)
    return csv_response(export_rows(request.user, form.filters(), request=request))


def _filter_query(params: QueryDict) -> str:
    """The search's own parameters, for the next-page and export links."""
    kept = params.copy()
    kept.pop("cursor", None)
    return kept.urlencode()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_lines(entries: Iterable[AccessAudit]) -> Iterator[str]:
    class Line:
        def write(self, text: str) -> str:
            return text

    writer = csv.writer(Line())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries:
        yield writer.writerow(
            [
                _cell(value)
                for value in (
                    entry.pk,
                    entry.at.astimezone(UTC).isoformat(),
                    entry.username,
                    entry.agency_code,
                    entry.action,
                    entry.object_type,
                    entry.object_id,
                    entry.outcome,
                    entry.ip,
                    entry.user_agent,
                    entry.path,
                    json.dumps(entry.detail, sort_keys=True, ensure_ascii=False),
                )
            ]
        )


def csv_response(entries: Iterable[AccessAudit]) -> StreamingHttpResponse:
    """The entries as a CSV download, streamed: an audit export can be millions of rows."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(_csv_lines(entries), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("audit/", audit_search, name="audit"),
    path("audit/export.csv", audit_export, name="audit-export"),
]
