"""Turnaround and backlog (/staff/lab/metrics/): charts, the same figures in tables, a period
filter and a CSV export. The figures come from `selectors_metrics.lab_metrics` (computed in the
database, scoped to the caller)."""

import csv
import io
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from despp.forensics.selectors_metrics import BACKLOG_DAYS, Figures, LabMetrics, lab_metrics
from despp.forensics.views import lab_page, render_lab
from despp.forensics.views_forms_work import PeriodForm, default_period

CSV_COLUMNS = (
    "group",
    "key",
    "name",
    "section",
    "period_first",
    "period_last",
    "as_of",
    "released",
    "mean_turnaround_days",
    "released_within_30_days",
    "open",
    "backlog_over_30_days",
    "oldest_open_days",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run these (OWASP)


def _form(request: HttpRequest) -> PeriodForm:
    return PeriodForm(request.GET if "first" in request.GET else default_period())


def _chart_data(metrics: LabMetrics) -> dict[str, Any]:
    """What the charts draw (the tables below them hold the same figures)."""

    def series(rows: list[Figures]) -> dict[str, Any]:
        return {
            "labels": [row.name for row in rows],
            "mean_days": [row.mean_days for row in rows],
            "released": [row.released for row in rows],
            "within": [row.open - row.backlog for row in rows],
            "backlog": [row.backlog for row in rows],
        }

    return {
        "limit": BACKLOG_DAYS,
        "sections": series(metrics.by_section),
        "examinations": series(metrics.by_examination),
    }


@lab_page
def metrics_page(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context: dict[str, Any] = {"form": form, "metrics": None, "limit": BACKLOG_DAYS}
    if not form.is_valid():
        return render_lab(request, "metrics.html", context, status=400)
    metrics = lab_metrics(request.user, form.period(), request=request)
    context |= {
        "metrics": metrics,
        "chart_data": _chart_data(metrics),
        "query": request.GET.urlencode() if "first" in request.GET else "",
    }
    return render_lab(request, "metrics.html", context)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def metrics_csv_text(metrics: LabMetrics) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    as_of = timezone.localtime(metrics.as_of).isoformat()
    rows = [("total", metrics.total)]
    rows += [("section", row) for row in metrics.by_section]
    rows += [("examination", row) for row in metrics.by_examination]
    for group, row in rows:
        writer.writerow(
            [
                _cell(value)
                for value in (
                    group,
                    row.key,
                    row.name,
                    row.section,
                    metrics.period.first.isoformat(),
                    metrics.period.last.isoformat(),
                    as_of,
                    row.released,
                    row.mean_days,
                    row.within_limit,
                    row.open,
                    row.backlog,
                    row.oldest_days,
                )
            ]
        )
    return buffer.getvalue()


@lab_page
def metrics_csv(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        context = {"form": form, "metrics": None, "limit": BACKLOG_DAYS}
        return render_lab(request, "metrics.html", context, status=400)
    metrics = lab_metrics(request.user, form.period(), request=request)
    response = HttpResponse(metrics_csv_text(metrics), content_type="text/csv; charset=utf-8")
    period = f"{metrics.period.first:%Y%m%d}-{metrics.period.last:%Y%m%d}"
    response["Content-Disposition"] = f'attachment; filename="lab-metrics-{period}.csv"'
    return response
