"""The demo dispatch floor: open incidents with calls and timelines, a callback waiting;
a second run writes nothing."""

import pytest

from despp.core.eventlog import verify_streams
from despp.core.management.commands.load_demo import load_demo
from despp.core.models import Event
from despp.dispatch.demo import load_demo_data
from despp.dispatch.models import Call, CallbackStatus, Caution, Incident
from despp.dispatch.reference import load_reference_data
from tests.fixtures_reference import reference_data, reference_snapshot  # noqa: F401

pytestmark = pytest.mark.usefixtures("reference_data")


def test_the_demo_opens_incidents_at_the_eastern_psap_and_a_second_run_changes_nothing() -> None:
    load_reference_data()
    load_demo()
    summary = load_demo_data()
    assert "calls: 7 new" in summary
    open_incidents = Incident.objects.filter(
        psap__code="psap-csp-eastern", status__in=["pending", "active"]
    )
    assert open_incidents.count() == 6
    fire = Incident.objects.get(nature__code="FSTRU")
    assert fire.calls.count() == 2  # the second caller joined it
    assert Call.objects.filter(callback_status=CallbackStatus.PENDING).count() == 1
    assert Incident.objects.filter(source="scheduled").count() == 1
    for incident in open_incidents:
        assert Event.objects.filter(stream=f"incident:{incident.pk}").exists()
    counts = (Call.objects.count(), Incident.objects.count(), Caution.objects.count())
    events = Event.objects.count()
    assert "calls: 0 new" in load_demo_data()
    assert (Call.objects.count(), Incident.objects.count(), Caution.objects.count()) == counts
    assert Event.objects.count() == events
    assert verify_streams().ok
