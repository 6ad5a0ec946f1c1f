"""A submission walks from the agency through intake, the lab and both reviews to a released,
delivered report, and every chain it wrote verifies."""

from django.core import mail

from despp.core.eventlog import verify_streams
from despp.forensics.models import DeliveryStatus, ItemStatus, LabRequestState


def test_a_released_report_names_its_method_version_instrument_analyst_and_reviewers(released, lab):
    content = released.content
    assert content["methods"] == [
        {"code": "cs-gcms-id", "name": "Identification by GC-MS", "version": "4.2"}
    ]
    assert content["instruments"][0]["asset_tag"] == "GCMS-CS-01"
    assert content["analysts"] == ["Test Analyst"]
    assert content["technical_review"]["name"] == "Test Reviewer"
    assert content["administrative_review"]["name"] == "Test Labmanager"
    assert content["statement"].startswith("The results in this report relate only")
    assert content["received_at"] is not None
    request = released.report.lab_request
    request.refresh_from_db()
    assert request.state == LabRequestState.RELEASED
    assert verify_streams().ok


def test_release_delivers_to_the_portal_and_mails_the_officer(released):
    statuses = {d.recipient: d.status for d in released.deliveries.all()}
    assert statuses == {"csp-troop-c": DeliveryStatus.DELIVERED,
                        "officer@example.org": DeliveryStatus.DELIVERED}  # fmt: skip
    assert mail.outbox[0].to == ["officer@example.org"]
    assert mail.outbox[0].attachments[0][2] == "application/pdf"


def test_received_items_are_in_the_intake_persons_hands(received, lab):
    assert {item.status for item in received.items.all()} == {ItemStatus.IN_LAB}
    assert {item.holder_id for item in received.items.all()} == {lab.intake.pk}
