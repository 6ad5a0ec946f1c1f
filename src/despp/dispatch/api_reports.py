"""/api/dispatch/reports: answer-time and processing-time compliance per PSAP (JSON and CSV)
and the Connecticut quarterly PSAP report (CGS 28-25b(f)).

Who may: `call.view`. A PSAP outside the caller's agency scope is a 404 (statewide.view: any);
the CT quarterly report lists the PSAPs the caller may see. Every report read is audited.
Days are local days (DESPP_TIME_ZONE); `to` is inclusive.
"""

from datetime import date
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.errors import AuthenticationError, ValidationError
from pydantic import ConfigDict, Field

from despp.core.api_auth import staff_auth
from despp.core.models import User
from despp.core.permissions import Action, require
from despp.dispatch import report_formats as formats
from despp.dispatch import selectors_reports as reports
from despp.dispatch.compliance import DEFAULT_PROFILE
from despp.dispatch.report_sql import Granularity

router = Router(auth=staff_auth, tags=["dispatch: standards and reports"])


class ComplianceQuery(Schema):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    psap: str = Field("", max_length=60, description="PSAP agency code; default: your agency")
    from_: date = Field(alias="from", description="first local day (YYYY-MM-DD)")
    to: date = Field(description="last local day, inclusive")
    granularity: Granularity = Granularity.DAY
    profile: str = Field(DEFAULT_PROFILE, max_length=40, description="standard profile code")


class QuarterQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)


def _caller(request: HttpRequest) -> User:
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise AuthenticationError()
    require(user, Action.CALL_VIEW, request=request)
    return user


def _invalid(exc: reports.InvalidReport) -> ValidationError:
    field = "from" if exc.field == "from_" else exc.field
    return ValidationError([{"loc": ("query", field), "msg": exc.message, "type": "invalid"}])


def _compliance(request: HttpRequest, query: ComplianceQuery) -> reports.ComplianceReport:
    user = _caller(request)
    code = query.psap or (user.agency.code if user.agency else "")
    try:
        psap = reports.psap_for(user, code)
    except reports.ReportNotFound as exc:
        raise Http404("No PSAP you may see has that code.") from exc
    try:
        profile = formats.profile_named(query.profile)
        report = reports.compute(psap, profile, query.granularity, query.from_, query.to)
    except reports.InvalidReport as exc:
        raise _invalid(exc) from exc
    formats.audit_report(
        request,
        "compliance_report",
        psap.code,
        profile=profile.code,
        granularity=query.granularity,
        start=query.from_.isoformat(),
        end=query.to.isoformat(),
    )
    return report


@router.get("/reports/compliance", summary="Compliance of one PSAP against a standard profile")
def compliance(request: HttpRequest, query: Query[ComplianceQuery]) -> dict[str, Any]:
    """Per bucket and over the whole period, for each target of the profile: population,
    measured, missing stamps, inconsistent stamps, within the threshold, percent within, the
    nearest-rank fractile and the verdict (pass / fail / no data). Profiles and rules:
    `despp.dispatch.compliance`."""
    return formats.compliance_json(_compliance(request, query))


@router.get("/reports/compliance.csv", summary="The same report as CSV")
def compliance_csv(request: HttpRequest, query: Query[ComplianceQuery]) -> HttpResponse:
    report = _compliance(request, query)
    name = formats.compliance_filename(report.psap, report.profile, query.from_, query.to)
    return formats.csv_response(formats.COMPLIANCE_COLUMNS, formats.compliance_rows(report), name)


def _quarterly(request: HttpRequest, query: QuarterQuery) -> reports.QuarterReport:
    user = _caller(request)
    try:
        report = reports.ct_quarterly(user, query.year, query.quarter)
    except reports.InvalidReport as exc:
        raise _invalid(exc) from exc
    formats.audit_report(
        request, "ct_quarterly_report", f"{query.year}Q{query.quarter}", psaps=len(report.rows)
    )
    return report


@router.get("/reports/ct-quarterly", summary="Connecticut quarterly PSAP report (CGS 28-25b)")
def ct_quarterly(request: HttpRequest, query: Query[QuarterQuery]) -> dict[str, Any]:
    """One row per PSAP you may see: calls received, answered (share within 15 s, mean and
    90th percentile answer time), answer to transfer or release (mean), transferred, abandoned."""
    report = _quarterly(request, query)
    return {
        "year": report.year,
        "quarter": report.quarter,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "rows": formats.quarterly_rows(report),
    }


@router.get("/reports/ct-quarterly.csv", summary="The same report as CSV")
def ct_quarterly_csv(request: HttpRequest, query: Query[QuarterQuery]) -> HttpResponse:
    report = _quarterly(request, query)
    return formats.csv_response(
        formats.QUARTERLY_COLUMNS,
        formats.quarterly_rows(report),
        f"ct-psap-quarterly-{report.year}-q{report.quarter}.csv",
    )
