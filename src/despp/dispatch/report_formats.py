"""The compliance and CT quarterly reports as JSON-ready dicts and CSV rows (one shape for the
API, the report pages and their downloads), and what a caller may ask for."""

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.http import HttpResponse

from despp.core import audit
from despp.core.models import Agency, AuditAction
from despp.dispatch.compliance import PROFILE_BY_CODE, Profile
from despp.dispatch.selectors_reports import ComplianceReport, InvalidReport, QuarterReport

COMPLIANCE_COLUMNS = (
    "psap",
    "profile",
    "target",
    "interval",
    "threshold_s",
    "goal_percent",
    "bucket_start",
    "bucket",
    "population",
    "measured",
    "missing_stamp",
    "inconsistent",
    "within",
    "percent_within",
    "fractile_s",
    "verdict",
)
QUARTERLY_COLUMNS = (
    "psap",
    "psap_name",
    "year",
    "quarter",
    "calls_received",
    "calls_answered",
    "answered_within_15s_percent",
    "answer_time_mean_s",
    "answer_time_90th_percentile_s",
    "answer_to_transfer_or_release_mean_s",
    "answer_to_transfer_or_release_measured",
    "calls_transferred",
    "calls_abandoned",
)
# A cell starting with one of these is a formula to a spreadsheet (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def profile_named(code: str) -> Profile:
    profile = PROFILE_BY_CODE.get(code)
    if profile is None:
        raise InvalidReport("profile", f"expected one of {', '.join(PROFILE_BY_CODE)}")
    return profile


def _number(value: float | None) -> Any:
    return "" if value is None else value


def compliance_rows(report: ComplianceReport) -> list[dict[str, Any]]:
    rows = []
    for result in report.results:
        target = result.target
        for bucket in [*result.buckets, result.overall]:
            figures = _bucket_json(bucket, target)
            rows.append(
                {
                    "psap": report.psap.code,
                    "profile": report.profile.code,
                    "target": target.key,
                    "interval": target.interval.value,
                    "threshold_s": target.threshold_s,
                    "goal_percent": target.goal_percent,
                    "bucket_start": figures.pop("start"),
                    "bucket": figures.pop("label"),
                    **figures,
                }
            )
    return rows


def compliance_json(report: ComplianceReport) -> dict[str, Any]:
    return {
        "psap": {"code": report.psap.code, "name": report.psap.name},
        "profile": {
            "code": report.profile.code,
            "name": report.profile.name,
            "source": report.profile.source,
            "note": report.profile.note,
        },
        "granularity": report.granularity.value,
        "from": report.first_day.isoformat(),
        "to": report.last_day.isoformat(),
        "targets": [
            {
                "key": result.target.key,
                "label": result.target.label,
                "interval": result.target.interval.value,
                "threshold_s": result.target.threshold_s,
                "goal_percent": result.target.goal_percent,
                "overall": _bucket_json(result.overall, result.target),
                "buckets": [_bucket_json(bucket, result.target) for bucket in result.buckets],
            }
            for result in report.results
        ],
    }


def _bucket_json(bucket: Any, target: Any) -> dict[str, Any]:
    return {
        "start": bucket.start.isoformat(),
        "label": bucket.label,
        "population": bucket.population,
        "measured": bucket.measured,
        "missing_stamp": bucket.missing,
        "inconsistent": bucket.inconsistent,
        "within": bucket.within,
        "percent_within": bucket.percent(),
        "fractile_s": bucket.fractile_s,
        "verdict": bucket.verdict(target).value,
    }


def quarterly_rows(report: QuarterReport) -> list[dict[str, Any]]:
    return [
        {
            "psap": row.psap.code,
            "psap_name": row.psap.name,
            "year": report.year,
            "quarter": report.quarter,
            "calls_received": row.received,
            "calls_answered": row.answered,
            "answered_within_15s_percent": row.answered_within_15_pct,
            "answer_time_mean_s": row.answer_mean_s,
            "answer_time_90th_percentile_s": row.answer_p90_s,
            "answer_to_transfer_or_release_mean_s": row.answer_to_transfer_mean_s,
            "answer_to_transfer_or_release_measured": row.answer_to_transfer_measured,
            "calls_transferred": row.transferred,
            "calls_abandoned": row.abandoned,
        }
        for row in report.rows
    ]


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(columns: Iterable[str], rows: list[dict[str, Any]], filename: str) -> HttpResponse:
    out = io.StringIO()
    names = list(columns)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([_cell(_number(row[name])) for name in names])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def compliance_filename(psap: Agency, profile: Profile, first: date, last: date) -> str:
    return f"compliance-{psap.code}-{profile.code}-{first:%Y%m%d}-{last:%Y%m%d}.csv"


def audit_report(request: Any, object_type: str, object_id: str, **detail: Any) -> None:
    """Reading a report reads non-public call records in aggregate: it is audited."""
    audit.record(
        AuditAction.READ,
        request=request,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )
