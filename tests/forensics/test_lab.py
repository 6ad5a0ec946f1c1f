"""Lab work: assignment is race-safe, reviews are separated from the work and from each other,
release needs both reviews, amendments keep the old version, and a failed delivery names its
recipient and reason. Every refusal writes nothing."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail.backends.locmem import EmailBackend

from despp.core.errors import Conflict
from despp.core.models import Event
from despp.forensics import selectors, services
from despp.forensics.models import (
    DeliveryStatus,
    LabRequest,
    LabRequestState,
    Method,
    MethodStatus,
    Report,
    ReportVersion,
    Result,
    Review,
)
from tests.forensics.conftest import only_request, record_and_complete, reviewed


@contextmanager
def nothing_written(lab_request: LabRequest) -> Iterator[None]:
    counts = [Event.objects.count(), Review.objects.count(), Result.objects.count(),
              Report.objects.count(), ReportVersion.objects.count()]  # fmt: skip
    before = LabRequest.objects.filter(pk=lab_request.pk).values().get()
    yield
    assert [Event.objects.count(), Review.objects.count(), Result.objects.count(),
            Report.objects.count(), ReportVersion.objects.count()] == counts  # fmt: skip
    assert LabRequest.objects.filter(pk=lab_request.pk).values().get() == before


def test_two_analysts_taking_the_same_request_the_second_is_told_who_has_it(received, lab):
    lab_request = only_request(received)
    other = lab.dna_analyst
    from despp.forensics.models import Section, SectionMembership

    SectionMembership.objects.create(user=other, section=Section.objects.get(
        code="controlled-substances"))  # fmt: skip
    services.assign_request(lab.analyst, lab_request, lab.analyst)
    with nothing_written(lab_request), pytest.raises(Conflict, match="already assigned to Test"):
        services.assign_request(other, lab_request, other)


def test_a_request_is_not_assigned_before_its_items_are_received(submitted, lab):
    lab_request = only_request(submitted)
    with nothing_written(lab_request), pytest.raises(Conflict, match="not been received"):
        services.assign_request(lab.analyst, lab_request, lab.analyst)


def test_an_analyst_of_another_section_cannot_take_the_request(received, lab):
    lab_request = only_request(received)
    with nothing_written(lab_request), pytest.raises(PermissionDenied, match="do not work in"):
        services.assign_request(lab.dna_analyst, lab_request, lab.dna_analyst)


def test_a_result_needs_a_validated_method_of_the_section(in_analysis, lab):
    dna_method = Method.objects.get(code="dna-quant")
    with nothing_written(in_analysis), pytest.raises(ValidationError, match="method"):
        services.record_result(lab.analyst, in_analysis, finding="x", method=dna_method)
    Method.objects.filter(pk=lab.method.pk).update(status=MethodStatus.RETIRED)
    lab.method.refresh_from_db()
    with nothing_written(in_analysis), pytest.raises(ValidationError, match="method"):
        services.record_result(lab.analyst, in_analysis, finding="x", method=lab.method)


def test_a_review_by_the_analyst_who_did_the_work_is_refused(in_analysis, lab, analyst):
    from django.contrib.auth.models import Group

    analyst.groups.add(Group.objects.get(name="reviewer"))  # an analyst who also reviews
    from despp.core.permissions import forget_roles

    forget_roles(analyst)
    record_and_complete(lab, in_analysis)
    with nothing_written(in_analysis), pytest.raises(Conflict, match="you did the analysis"):
        services.review_request(analyst, in_analysis, kind="technical", outcome="approved")


def test_the_administrative_reviewer_is_not_the_technical_reviewer(in_analysis, lab):
    record_and_complete(lab, in_analysis)
    services.review_request(lab.reviewer, in_analysis, kind="technical", outcome="approved")
    with nothing_written(in_analysis), pytest.raises(Conflict, match="technical review"):
        services.review_request(lab.reviewer, in_analysis, kind="administrative",
                                outcome="approved")  # fmt: skip


def test_release_without_both_reviews_is_refused(in_analysis, lab):
    record_and_complete(lab, in_analysis)
    with nothing_written(in_analysis), pytest.raises(Conflict) as refused:
        services.release_request(lab.manager, in_analysis)
    assert refused.value.extensions["missing_reviews"] == ["technical review",
                                                         "administrative review"]  # fmt: skip
    services.review_request(lab.reviewer, in_analysis, kind="technical", outcome="approved")
    with nothing_written(in_analysis), pytest.raises(Conflict, match="administrative review"):
        services.release_request(lab.manager, in_analysis)


def test_a_returned_request_is_reworked_and_reviewed_again(in_analysis, lab):
    record_and_complete(lab, in_analysis)
    with pytest.raises(ValidationError, match="comments"):
        services.review_request(lab.reviewer, in_analysis, kind="technical", outcome="returned")
    services.review_request(lab.reviewer, in_analysis, kind="technical", outcome="returned",
                            comments="Blank run missing")  # fmt: skip
    in_analysis.refresh_from_db()
    assert in_analysis.state == LabRequestState.RETURNED
    services.start_analysis(lab.analyst, in_analysis)
    first = in_analysis.results.get()
    services.record_result(lab.analyst, in_analysis, finding="Cocaine (with blank)",
                           method=lab.method, supersedes=first)  # fmt: skip
    services.complete_analysis(lab.analyst, in_analysis)
    in_analysis.refresh_from_db()
    assert in_analysis.technical_reviewer is None  # the earlier round's review no longer counts
    first.refresh_from_db()
    assert first.superseded_by is not None


def test_an_amended_report_is_a_new_version_and_the_old_one_stays_readable(
    released, lab, django_capture_on_commit_callbacks
):
    report = released.report
    lab_request = report.lab_request
    old_content = dict(released.content)
    with nothing_written(lab_request), pytest.raises(Conflict):  # released once already
        services.release_request(lab.manager, lab_request)
    services.amend_report(lab.manager, report, reason="Weight transcribed wrongly")
    lab_request.refresh_from_db()
    assert lab_request.state == LabRequestState.IN_ANALYSIS
    first = lab_request.results.get()
    services.record_result(
        lab.analyst, lab_request, finding="Cocaine identified", value="1.20", units="g",
        method=lab.method, supersedes=first,
    )  # fmt: skip
    services.complete_analysis(lab.analyst, lab_request)
    reviewed(lab, lab_request)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.release_request(lab.manager, lab_request)
    assert second.version == 2 and second.amendment_reason == "Weight transcribed wrongly"
    assert second.content["amendment"] == {"reason": "Weight transcribed wrongly",
                                           "supersedes_version": 1}  # fmt: skip
    assert [r["value"] for r in second.content["results"]] == ["1.20"]
    versions = list(selectors.report_versions(report))
    assert [v.version for v in versions] == [2, 1]
    assert versions[1].content == old_content
    assert selectors.get_report_version(lab.intake, report.pk, 1).content["results"][0][
        "value"] == "1.02"  # fmt: skip


class _BouncingBackend(EmailBackend):
    """Refuses mail to any address at bounce.example: the mail server said no."""

    def send_messages(self, messages: Any) -> int:
        for message in messages:
            if any(address.endswith("@bounce.example") for address in message.to):
                raise ConnectionRefusedError("550 mailbox unavailable")
        return super().send_messages(messages)


def test_a_failed_delivery_names_the_recipient_and_why_and_the_others_still_go(
    lab, trooper, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}._BouncingBackend"
    from tests.forensics.conftest import drug_case

    submission = services.submit_evidence(trooper, drug_case(
        notify_emails=["da@bounce.example", "prosecutor@example.org"]))  # fmt: skip
    services.receive_items(lab.intake, submission,
                           [services.Receipt(i.pk) for i in submission.items.all()])  # fmt: skip
    lab_request = only_request(submission)
    services.assign_request(lab.analyst, lab_request, lab.analyst)
    services.start_analysis(lab.analyst, lab_request)
    record_and_complete(lab, lab_request)
    reviewed(lab, lab_request)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.release_request(lab.manager, lab_request)
    outcome = {d.recipient: (d.status, d.failure_reason) for d in version.deliveries.all()}
    assert outcome["da@bounce.example"] == (
        DeliveryStatus.FAILED,
        "ConnectionRefusedError: 550 mailbox unavailable",
    )
    assert outcome["prosecutor@example.org"][0] == DeliveryStatus.DELIVERED
    assert outcome["officer@example.org"][0] == DeliveryStatus.DELIVERED
    assert outcome["csp-troop-c"][0] == DeliveryStatus.DELIVERED
    assert sorted(m.to[0] for m in mail.outbox) == ["officer@example.org",
                                                    "prosecutor@example.org"]  # fmt: skip
    failed = Event.objects.get(stream=version.report.stream, kind="delivery.failed")
    assert failed.data["recipient"] == "da@bounce.example"
    # A retry tries the failed recipient again, and only it.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    retried = services.deliver_report(lab.manager, version)
    assert [(d.recipient, d.status, d.attempts) for d in retried] == [
        ("da@bounce.example", DeliveryStatus.DELIVERED, 2)]  # fmt: skip
