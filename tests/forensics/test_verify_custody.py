"""`despp verify-custody`: every item's chain and every split link, naming the first broken
link by lab number and item number; events altered behind the application's back are caught."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from despp.core import eventlog
from despp.core.eventlog import event_hash
from despp.core.models import AccessAudit, Event
from despp.forensics import services
from despp.forensics.models import Item
from tests.core.test_eventlog import protection_lifted
from tests.forensics.conftest import first_item


def _verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_custody", *args, stdout=out)
    return out.getvalue()


def _failure(*args: str) -> str:
    with pytest.raises(CommandError) as failure:
        _verify(*args)
    assert failure.value.returncode == 1
    return str(failure.value)


def _split(lab, item):
    services.transfer_item(lab.intake, item, to_user=lab.analyst, reason="analysis",
                           seal_intact=True)  # fmt: skip
    services.acknowledge_transfer(lab.analyst, item)
    return services.split_item(
        lab.analyst, item, [services.SubItemSpec("Scraping A"), services.SubItemSpec("Scraping B")],
        reason="sampling",
    )  # fmt: skip


def test_every_chain_holding_exits_zero_and_says_how_much_it_checked(received, lab):
    _split(lab, first_item(received))
    out = _verify("--projections")
    assert "9 custody events of 4 items verified, 1 splits linked: every chain holds." in out
    assert AccessAudit.objects.filter(object_id="item:*", outcome="success").exists()


def test_an_event_altered_behind_the_applications_back_is_caught_and_named(received, lab):
    item = first_item(received)
    received_event = Event.objects.get(stream=item.stream, position=2)
    with protection_lifted(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_event SET data = %s WHERE seq = %s",
            ['{"holder": 1, "seal_intact": true, "received_from": "someone else"}',
             received_event.seq],
        )  # fmt: skip
    message = _failure()
    assert f"BROKEN {received.lab_number} item 1 ({item.stream}) event #2" in message
    assert "the event was altered" in message
    assert "item 2" not in message  # the other item's chain still holds


def test_a_deleted_custody_event_is_caught(received, lab):
    item = first_item(received)
    services.transfer_item(lab.intake, item, to_user=lab.analyst, reason="analysis",
                           seal_intact=True)  # fmt: skip
    services.acknowledge_transfer(lab.analyst, item)
    with protection_lifted(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_event WHERE stream = %s AND position = 3", [item.stream])
    assert "event #4" in _failure() and "missing or out of order" in _failure()


def test_split_histories_both_verify_and_link_parent_and_children(received, lab):
    parent = first_item(received)
    children = _split(lab, parent)
    split = Event.objects.get(stream=parent.stream, kind="item.split")
    for child in children:
        origin = Event.objects.get(stream=child.stream, position=1)
        assert origin.kind == "item.created_from"
        assert origin.data["parent_head_hash"] == split.hash
        assert origin.data["parent"] == parent.pk
    assert {c["item"] for c in split.data["children"]} == {c.pk for c in children}
    assert eventlog.verify_streams([parent.stream, *(c.stream for c in children)]).ok
    _verify()


def test_a_child_rehashed_to_point_elsewhere_keeps_its_chain_but_breaks_the_split_link(
    received, lab
):
    parent = first_item(received)
    child = _split(lab, parent)[0]
    origin = Event.objects.get(stream=child.stream, position=1)
    forged = {**origin.data, "parent_head_hash": "f" * 64}
    digest = event_hash(prev_hash=origin.prev_hash, stream=origin.stream, position=1,
                        at=origin.at, actor_id=origin.actor_id, actor_name=origin.actor_name,
                        kind=origin.kind, data=forged)  # fmt: skip
    with protection_lifted(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_event SET data = %s, hash = %s WHERE seq = %s",
            [eventlog.canonical_json(forged), digest, origin.seq],
        )
    assert eventlog.verify_streams([child.stream]).ok  # the forged chain itself is consistent
    message = _failure()
    assert f"{received.lab_number} item 1.1 ({child.stream}) event #1" in message
    assert "parent_head_hash is not the hash" in message


def test_a_projection_edited_directly_is_reported_with_projections(received, lab):
    item = first_item(received)
    Item.objects.filter(pk=item.pk).update(holder=lab.analyst)
    _verify()  # the chains themselves hold
    message = _failure("--projections")
    assert f"{received.lab_number} item 1" in message
    assert "holder_id" in message
