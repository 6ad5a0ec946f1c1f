"""Staff report pages: /staff/dispatch/reports/ (compliance of a PSAP against a standard
profile, a chart and the same figures as a table, CSV) and /staff/dispatch/reports/ct-quarterly/
(the Connecticut quarterly PSAP report, CSV).

Who may: `call.view`; the PSAP picker lists the PSAPs in the caller's scope (statewide.view:
all); naming another is a 404. Every report shown or downloaded is in the access audit.
The included URL patterns are `urlpatterns_reports` (dispatch/urls.py adds them).
"""

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from despp.core.permissions import Action, action_required
from despp.dispatch import report_formats as formats
from despp.dispatch import selectors_reports as reports
from despp.dispatch.compliance import DEFAULT_PROFILE, PROFILES
from despp.dispatch.report_sql import Granularity

DEFAULT_DAYS = 7


class ComplianceForm(forms.Form):
    psap = forms.ChoiceField(label="PSAP")
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(
        label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    granularity = forms.ChoiceField(label="Per", choices=Granularity.choices)
    profile = forms.ChoiceField(
        label="Standard", choices=[(profile.code, profile.name) for profile in PROFILES]
    )

    def __init__(self, data: QueryDict, *, user: Any) -> None:
        today = timezone.localdate()
        psaps = list(reports.visible_psaps(user).values_list("code", "name"))
        own = user.agency.code if user.agency and user.agency.code in dict(psaps) else ""
        defaults = {
            "psap": own or (psaps[0][0] if psaps else ""),
            "date_from": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "date_to": today.isoformat(),
            "granularity": Granularity.DAY,
            "profile": DEFAULT_PROFILE,
        }
        merged = data.copy()
        for name, value in defaults.items():
            if not merged.get(name):
                merged[name] = value
        super().__init__(merged)
        cast(forms.ChoiceField, self.fields["psap"]).choices = psaps
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must not be before the start date.")
        return cleaned


class QuarterForm(forms.Form):
    year = forms.IntegerField(label="Year", min_value=2000, max_value=2100)
    quarter = forms.ChoiceField(label="Quarter", choices=[(q, f"Q{q}") for q in range(1, 5)])

    def __init__(self, data: QueryDict) -> None:
        today = timezone.localdate()
        previous = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1) - timedelta(days=1)
        merged = data.copy()
        merged.setdefault("year", str(previous.year))
        merged.setdefault("quarter", str((previous.month - 1) // 3 + 1))
        super().__init__(merged)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "input")


def _compliance(request: HttpRequest) -> tuple[ComplianceForm, reports.ComplianceReport | None]:
    form = ComplianceForm(request.GET, user=request.user)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    try:
        psap = reports.psap_for(request.user, data["psap"])
    except reports.ReportNotFound as exc:
        raise Http404("No PSAP you may see has that code.") from exc
    try:
        report = reports.compute(
            psap,
            formats.profile_named(data["profile"]),
            data["granularity"],
            data["date_from"],
            data["date_to"],
        )
    except reports.InvalidReport as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return form, None
    formats.audit_report(
        request,
        "compliance_report",
        psap.code,
        profile=data["profile"],
        granularity=data["granularity"],
        start=data["date_from"].isoformat(),
        end=data["date_to"].isoformat(),
    )
    return form, report


def _chart_data(report: reports.ComplianceReport) -> list[dict[str, Any]]:
    return [
        {
            "id": f"chart-{result.target.key}",
            "goal": result.target.goal_percent,
            "labels": [bucket.label for bucket in result.buckets],
            "values": [bucket.percent() for bucket in result.buckets],
        }
        for result in report.results
    ]


@require_safe
@never_cache
@action_required(Action.CALL_VIEW)
def compliance_page(request: HttpRequest) -> HttpResponse:
    form, report = _compliance(request)
    context = {
        "form": form,
        "report": report,
        "charts": _chart_data(report) if report else [],
        "query": request.GET.urlencode(),
    }
    return render(request, "dispatch/reports.html", context)


@require_safe
@never_cache
@action_required(Action.CALL_VIEW)
def compliance_csv(request: HttpRequest) -> HttpResponse:
    form, report = _compliance(request)
    if report is None:
        return render(request, "dispatch/reports.html", {"form": form, "report": None}, status=400)
    data = form.cleaned_data
    name = formats.compliance_filename(
        report.psap, report.profile, data["date_from"], data["date_to"]
    )
    return formats.csv_response(formats.COMPLIANCE_COLUMNS, formats.compliance_rows(report), name)


def _quarterly(request: HttpRequest) -> tuple[QuarterForm, reports.QuarterReport | None]:
    form = QuarterForm(request.GET)
    if not form.is_valid():
        return form, None
    year, quarter = form.cleaned_data["year"], int(form.cleaned_data["quarter"])
    report = reports.ct_quarterly(request.user, year, quarter)
    formats.audit_report(
        request, "ct_quarterly_report", f"{year}Q{quarter}", psaps=len(report.rows)
    )
    return form, report


@require_safe
@never_cache
@action_required(Action.CALL_VIEW)
def quarterly_page(request: HttpRequest) -> HttpResponse:
    form, report = _quarterly(request)
    context = {"form": form, "report": report, "query": request.GET.urlencode()}
    return render(request, "dispatch/reports_quarterly.html", context)


@require_safe
@never_cache
@action_required(Action.CALL_VIEW)
def quarterly_csv(request: HttpRequest) -> HttpResponse:
    form, report = _quarterly(request)
    if report is None:
        context = {"form": form, "report": None}
        return render(request, "dispatch/reports_quarterly.html", context, status=400)
    return formats.csv_response(
        formats.QUARTERLY_COLUMNS,
        formats.quarterly_rows(report),
        f"ct-psap-quarterly-{report.year}-q{report.quarter}.csv",
    )


urlpatterns_reports: list[Any] = [
    path("reports/", compliance_page, name="reports"),
    path("reports/compliance.csv", compliance_csv, name="reports-csv"),
    path("reports/ct-quarterly/", quarterly_page, name="reports-quarterly"),
    path("reports/ct-quarterly.csv", quarterly_csv, name="reports-quarterly-csv"),
]
