"""Chain of custody rules: only the holder transfers; a person acknowledges what they receive;
storage moves are witnessed by someone else; splits and dispositions keep the chain. Every
refusal writes nothing."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from despp.core.errors import Conflict
from despp.core.models import Event
from despp.forensics import services
from despp.forensics.models import Disposition, Item, ItemStatus
from tests.forensics.conftest import first_item, record_and_complete, reviewed


@contextmanager
def nothing_written(item: Item) -> Iterator[None]:
    """The block must be refused and leave the log, the item and its dispositions as they were."""
    events = Event.objects.count()
    before = Item.objects.filter(pk=item.pk).values().get()
    dispositions = Disposition.objects.count()
    yield
    assert Event.objects.count() == events
    assert Item.objects.filter(pk=item.pk).values().get() == before
    assert Disposition.objects.count() == dispositions


def test_a_transfer_from_someone_who_does_not_hold_the_item_is_refused(received, lab):
    item = first_item(received)  # held by intake
    with nothing_written(item), pytest.raises(Conflict, match="You do not hold item 1"):
        services.transfer_item(lab.analyst, item, to_user=lab.analyst, reason="taking it",
                               seal_intact=True, witness=lab.reviewer)  # fmt: skip


def test_a_role_without_evidence_transfer_may_not_transfer(received, lab, trooper):
    item = first_item(received)
    with nothing_written(item), pytest.raises(PermissionDenied):
        services.transfer_item(trooper, item, to_user=lab.analyst, reason="x", seal_intact=True)


def test_a_transfer_to_a_person_waits_for_that_persons_acknowledgement(received, lab):
    item = first_item(received)
    services.transfer_item(lab.intake, item, to_user=lab.analyst, reason="analysis",
                           seal_intact=True)  # fmt: skip
    item.refresh_from_db()
    assert item.holder == lab.intake and item.pending_to == lab.analyst
    with nothing_written(item), pytest.raises(Conflict, match="waits for Test Analyst"):
        services.acknowledge_transfer(lab.reviewer, item)
    with nothing_written(item), pytest.raises(Conflict, match="waiting for Test Analyst"):
        services.transfer_item(lab.intake, item, to_user=lab.dna_analyst, reason="x",
                               seal_intact=True)  # fmt: skip
    services.acknowledge_transfer(lab.analyst, item, seal_intact=False, note="tape lifted")
    item.refresh_from_db()
    assert item.holder == lab.analyst and not item.has_pending_transfer
    assert item.seal_intact is False
    done = Event.objects.filter(stream=item.stream).last()
    assert done.kind == "custody.transferred" and done.actor == lab.analyst
    assert done.data["from_user"] == lab.intake.pk and done.data["to_user"] == lab.analyst.pk


def test_a_transfer_into_storage_needs_a_witness_who_is_someone_else(received, lab):
    item = first_item(received)
    vault = lab.locations["vault-cage-1-a"]
    with nothing_written(item), pytest.raises(ValidationError, match="needs a witness"):
        services.transfer_item(lab.intake, item, to_location=vault, reason="store",
                               seal_intact=True)  # fmt: skip
    with nothing_written(item), pytest.raises(ValidationError, match="someone other than you"):
        services.transfer_item(lab.intake, item, to_location=vault, reason="store",
                               seal_intact=True, witness=lab.intake)  # fmt: skip
    services.transfer_item(lab.intake, item, to_location=vault, reason="store",
                           seal_intact=True, witness=lab.reviewer)  # fmt: skip
    with nothing_written(item), pytest.raises(Conflict):
        services.acknowledge_transfer(lab.intake, item)  # the witness confirms, not the sender
    services.acknowledge_transfer(lab.reviewer, item)
    item.refresh_from_db()
    assert item.holder is None and item.location == vault


def test_lab_staff_take_an_item_out_of_storage_only_witnessed(received, lab):
    item = first_item(received)
    vault = lab.locations["vault-cage-1-a"]
    services.transfer_item(lab.intake, item, to_location=vault, reason="store",
                           seal_intact=True, witness=lab.reviewer)  # fmt: skip
    services.acknowledge_transfer(lab.reviewer, item)
    with nothing_written(item), pytest.raises(ValidationError, match="needs a witness"):
        services.transfer_item(lab.analyst, item, to_user=lab.analyst, reason="analysis",
                               seal_intact=True)  # fmt: skip
    services.transfer_item(lab.analyst, item, to_user=lab.analyst, reason="analysis",
                           seal_intact=True, witness=lab.intake)  # fmt: skip
    services.acknowledge_transfer(lab.intake, item)
    item.refresh_from_db()
    assert item.holder == lab.analyst and item.location is None


def test_the_receiver_may_decline_and_the_item_stays_with_the_sender(received, lab):
    item = first_item(received)
    services.transfer_item(lab.intake, item, to_user=lab.analyst, reason="analysis",
                           seal_intact=True)  # fmt: skip
    with nothing_written(item), pytest.raises(Conflict, match="Only the sender"):
        services.withdraw_transfer(lab.reviewer, item, reason="not mine")
    services.withdraw_transfer(lab.analyst, item, reason="wrong section")
    item.refresh_from_db()
    assert item.holder == lab.intake and not item.has_pending_transfer
    assert Event.objects.filter(stream=item.stream).last().data["declined"] is True


def test_only_the_holder_splits_and_the_children_start_in_their_hands(received, lab):
    item = first_item(received)
    part = [services.SubItemSpec("Swab of stain A")]
    with nothing_written(item), pytest.raises(Conflict, match="only its holder can split"):
        services.split_item(lab.analyst, item, part, reason="sampling")
    (child,) = services.split_item(lab.intake, item, part, reason="sampling")
    assert child.item_number == "1.1" and child.barcode == f"{received.lab_number}-1.1"
    assert child.holder == lab.intake and child.status == ItemStatus.IN_LAB
    assert set(child.requests.all()) == set(item.requests.all())
    (second,) = services.split_item(lab.intake, item, part, reason="sampling")
    assert second.item_number == "1.2"


def test_nothing_leaves_without_a_recorded_recipient(
    received, lab, django_capture_on_commit_callbacks
):
    item = first_item(received)
    lab_request = item.requests.get()
    with nothing_written(item), pytest.raises(ValidationError, match="recipient_name"):
        services.dispose_item(lab.intake, item, kind="returned", reason="done")
    with nothing_written(item), pytest.raises(Conflict, match="still needed by 1 open"):
        services.dispose_item(
            lab.intake, item, kind="returned", reason="done", recipient_name="Tpr. A. Smith",
            recipient_agency=received.agency,
        )  # fmt: skip
    services.assign_request(lab.analyst, lab_request, lab.analyst)
    services.start_analysis(lab.analyst, lab_request)
    record_and_complete(lab, lab_request)
    reviewed(lab, lab_request)
    with django_capture_on_commit_callbacks(execute=True):
        services.release_request(lab.manager, lab_request)
    disposition = services.dispose_item(
        lab.intake, item, kind="returned", reason="case closed", recipient_name="Tpr. A. Smith",
        recipient_agency=received.agency, recipient_id_number="CSP 77",
    )  # fmt: skip
    item.refresh_from_db()
    assert item.status == ItemStatus.RETURNED and item.holder is None
    assert (
        disposition.recipient_name == "Tpr. A. Smith" and disposition.event.kind == "item.disposed"
    )
    with nothing_written(item), pytest.raises(Conflict, match="returned"):
        services.transfer_item(lab.intake, item, to_user=lab.analyst, reason="x", seal_intact=True)


def test_destruction_needs_a_witness_and_retention_needs_storage(received, lab):
    item = list(received.items.order_by("id"))[1]
    item.requests.get()  # the drug request holds both items; cancel it to free them
    services.cancel_request(lab.manager, item.requests.get(), reason="withdrawn by the agency")
    with nothing_written(item), pytest.raises(ValidationError, match="witness"):
        services.dispose_item(lab.intake, item, kind="destroyed", reason="court order")
    with nothing_written(item), pytest.raises(Conflict, match="put it into storage first"):
        services.dispose_item(lab.intake, item, kind="retained", reason="policy")
    services.dispose_item(lab.intake, item, kind="destroyed", reason="court order 26-114",
                          witness=lab.reviewer)  # fmt: skip
    item.refresh_from_db()
    assert item.status == ItemStatus.DESTROYED


def test_receiving_twice_is_a_conflict_and_writes_nothing(received, lab):
    item = first_item(received)
    with nothing_written(item), pytest.raises(Conflict, match="already in laboratory custody"):
        services.receive_items(lab.intake, received, [services.Receipt(item.pk)])


def test_an_item_not_delivered_needs_a_discrepancy_and_is_recorded_as_such(submitted, lab):
    item = first_item(submitted)
    with nothing_written(item), pytest.raises(ValidationError, match="discrepancy"):
        services.receive_items(lab.intake, submitted, [services.Receipt(item.pk, received=False)])
    services.receive_items(lab.intake, submitted, [
        services.Receipt(item.pk, received=False, discrepancy="Not in the package"),
    ])  # fmt: skip
    item.refresh_from_db()
    assert item.status == ItemStatus.NOT_RECEIVED and item.discrepancy == "Not in the package"
