"""A laboratory report: its versions (the current one shown; earlier ones stay readable,
marked superseded), each version's PDF, the delivery to each recipient with the reason of any
failure, a retry of failed e-mails, and the amendment of a released report (with its reason)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from despp.core.errors import Conflict
from despp.core.models import User
from despp.forensics import selectors, services
from despp.forensics.models import (
    DeliveryChannel,
    DeliveryStatus,
    LabRequestState,
    Report,
    ReportVersion,
)
from despp.forensics.services._common import in_section
from despp.forensics.views import (
    apply_service_errors,
    done,
    lab_page,
    lab_permissions,
    one_or_404,
    render_lab,
)
from despp.forensics.views_forms import ReasonForm

_TIMES = {"issued_at", "received_at", "work_started_at", "work_completed_at", "recorded_at", "at"}


def _with_times(value: Any) -> Any:
    """The frozen content with its ISO timestamps as datetimes (for the date filter)."""
    if isinstance(value, dict):
        return {
            key: (parse_datetime(item) or item)
            if key in _TIMES and isinstance(item, str)
            else _with_times(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_with_times(item) for item in value]
    return value


def _report_page(
    request: HttpRequest,
    report: Report,
    version: ReportVersion,
    *,
    amend_form: ReasonForm | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    """`report` and `version` were read (and the look audited) by the caller."""
    user: User = request.user  # type: ignore[assignment]
    can = lab_permissions(user)
    lab_request = report.lab_request
    member = can["release"] and in_section(user, lab_request.section_id)
    deliveries = (
        list(selectors.report_deliveries(report).order_by("-version__version", "id"))
        if can["staff"]
        else []
    )
    retry = member and any(
        d.channel == DeliveryChannel.EMAIL and d.status != DeliveryStatus.DELIVERED
        and d.version_id == version.pk for d in deliveries
    )  # fmt: skip
    may_amend = member and lab_request.state == LabRequestState.RELEASED
    if may_amend and amend_form is None:
        amend_form = ReasonForm(prefix="amend")
    context: dict[str, Any] = {
        "report": report,
        "lab_request": lab_request,
        "version": version,
        "content": _with_times(version.content),
        "versions": list(selectors.report_versions(report)),
        "is_current": version.version == report.current_version,
        "deliveries": deliveries,
        "may_retry": retry,
        "amend_form": amend_form if may_amend else None,
        "amending": lab_request.state != LabRequestState.RELEASED
        and bool(lab_request.amendment_reason),
        "refusal": refusal,
    }
    return render_lab(request, "report.html", context, status=status)


def _current(report: Report) -> ReportVersion:
    version: ReportVersion = report.versions.select_related("released_by").get(
        version=report.current_version
    )
    return version


@lab_page
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.get_report(request.user, pk, request=request)
    return _report_page(request, report, _current(report))


@lab_page
def report_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = selectors.get_report_version(request.user, pk, number, request=request)
    report = Report.objects.select_related(
        "lab_request__submission__agency", "lab_request__examination_type", "lab_request__section"
    ).get(pk=version.report_id)
    return _report_page(request, report, version)


def _report_or_404(request: HttpRequest, pk: int) -> Report:
    found: Report = one_or_404(selectors.visible_reports(request.user), pk, "report")
    return found


@require_POST
@lab_page
def report_amend(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    report = _report_or_404(request, pk)
    form = ReasonForm(request.POST, prefix="amend")
    refusal, status = "", 400
    if form.is_valid():
        try:
            lab_request = services.amend_report(
                user, report, reason=form.cleaned_data["reason"], request=request
            )
        except Conflict as error:
            refusal, status = error.detail, 409
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return done(
                request,
                "Amendment opened: the request is back in analysis. Record the corrected "
                "results; after both reviews the release makes the next version.",
                reverse("forensics:request", args=[lab_request.pk]),
            )
    report = selectors.get_report(user, pk, request=request)
    return _report_page(
        request, report, _current(report), amend_form=form, refusal=refusal, status=status
    )


@require_POST
@lab_page
def report_deliver(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry the current version's e-mail deliveries that have not gone through."""
    user: User = request.user  # type: ignore[assignment]
    report = _report_or_404(request, pk)
    version = _current(report)
    attempted = services.deliver_report(user, version, request=request)
    failed = [d.recipient for d in attempted if d.status == DeliveryStatus.FAILED]
    if failed:
        message = f"Tried {len(attempted)}; still failing: {', '.join(failed)}."
    elif attempted:
        message = f"Delivered to {len(attempted)} recipient(s)."
    else:
        message = "Nothing to retry: every delivery had gone through."
    return done(request, message, reverse("forensics:report", args=[pk]))
