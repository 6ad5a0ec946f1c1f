"""Checking the chain of custody: every item's hash chain, the links between split items, and
(optionally) that the projected columns still agree with the events.

A split is linked both ways: the parent's `item.split` event names each child, and each child's
first event, `item.created_from`, names the parent, the position of that split event and its
hash. Altering either side, or the parent's chain before the split, breaks a link that
`check_custody` names.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from despp.core.eventlog import verify_streams
from despp.core.models import Event
from despp.forensics.events import ITEM_PREFIX, Kind
from despp.forensics.models import Item, LabRequest, Report
from despp.forensics.projections import (
    item_differences,
    report_differences,
    request_differences,
)


@dataclass(frozen=True)
class CustodyProblem:
    item: str  # "L26-00012 item 3.1" (or the stream, when no item row matches)
    stream: str
    position: int
    reason: str

    def __str__(self) -> str:
        return f"{self.item} ({self.stream}) event #{self.position}: {self.reason}"


@dataclass
class CustodyCheck:
    events: int = 0
    items: int = 0
    splits: int = 0
    problems: list[CustodyProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _labels(item_ids: set[int]) -> dict[int, str]:
    rows = Item.objects.filter(pk__in=item_ids).values_list(
        "pk", "submission__lab_number", "item_number"
    )
    return {pk: f"{lab_number} item {number}" for pk, lab_number, number in rows}


def _item_id(stream: str) -> int | None:
    suffix = stream.removeprefix(ITEM_PREFIX)
    return int(suffix) if suffix.isdigit() else None


def _split_problems() -> tuple[int, list[tuple[str, int, str]]]:
    """(splits checked, [(stream, position, reason)]) for every split link, both ways."""
    events = Event.objects.filter(
        stream__startswith=ITEM_PREFIX, kind__in=[Kind.ITEM_SPLIT, Kind.ITEM_CREATED_FROM]
    ).values_list("stream", "position", "kind", "data", "hash")
    splits: dict[tuple[str, int], tuple[dict[str, object], str]] = {}
    created: dict[str, tuple[int, dict[str, object]]] = {}
    for stream, position, kind, data, digest in events:
        if kind == Kind.ITEM_SPLIT:
            splits[(stream, position)] = (data, digest)
        else:
            created[stream] = (position, data)
    problems: list[tuple[str, int, str]] = []
    for child_stream, (position, data) in created.items():
        parent_stream = f"{ITEM_PREFIX}{data.get('parent')}"
        at = data.get("parent_position")
        split = splits.get((parent_stream, int(str(at or 0))))
        reason = ""
        if position != 1:
            reason = "created_from is not the item's first event"
        elif split is None:
            reason = f"there is no split event #{at} in {parent_stream}"
        elif split[1] != data.get("parent_head_hash"):
            reason = f"parent_head_hash is not the hash of {parent_stream}'s split event #{at}"
        elif _item_id(child_stream) not in _children(split[0]):
            reason = f"{parent_stream}'s split event #{at} does not name this item"
        if reason:
            problems.append((child_stream, position, reason))
    for (parent_stream, position), (data, _) in splits.items():
        for child in sorted(_children(data)):
            linked = created.get(f"{ITEM_PREFIX}{child}")
            if linked is None or linked[1].get("parent_position") != position:
                reason = f"child {ITEM_PREFIX}{child} does not start from this split"
                problems.append((parent_stream, position, reason))
    return len(splits), problems


def _children(data: dict[str, object]) -> set[int]:
    children = data.get("children")
    if not isinstance(children, list):
        return set()
    return {int(child["item"]) for child in children if isinstance(child, dict)}


def _projection_problems() -> list[tuple[str, int, str]]:
    """Rebuild every projection from its events and report where the stored one differs."""
    by_stream: dict[str, list[Event]] = defaultdict(list)
    for event in Event.objects.filter(stream__regex=r"^(item|labrequest|report):").order_by("seq"):
        by_stream[event.stream].append(event)
    problems: list[tuple[str, int, str]] = []
    checks: list[tuple[object, Callable[..., list[str]]]] = []
    checks += [(item, item_differences) for item in Item.objects.all()]
    checks += [(request, request_differences) for request in LabRequest.objects.all()]
    checks += [(report, report_differences) for report in Report.objects.all()]
    for record, differences in checks:
        stream = record.stream  # type: ignore[attr-defined]
        for difference in differences(record, by_stream.get(stream, [])):
            problems.append((stream, 0, f"projection: {difference}"))
    return problems


def check_custody(
    *, projections: bool = False, progress: Callable[[int], None] | None = None
) -> CustodyCheck:
    """Verify every `item:` chain and every split link (and, with `projections`, that the
    stored projections equal a rebuild from the events). The first broken link of each item
    is reported, naming the item by lab number and item number."""
    verification = verify_streams(prefix=ITEM_PREFIX, progress=progress)
    found: list[tuple[str, int, str]] = [
        (link.stream, link.position, f"(seq {link.seq}) {link.reason}")
        for link in verification.broken
    ]
    splits, split_problems = _split_problems()
    found += split_problems
    if projections:
        found += _projection_problems()
    ids = {pk for stream, _, _ in found if (pk := _item_id(stream)) is not None}
    labels = _labels(ids)
    problems = [
        CustodyProblem(
            item=labels.get(_item_id(stream) or 0, stream), stream=stream, position=position,
            reason=reason,
        )
        for stream, position, reason in found
    ]  # fmt: skip
    return CustodyCheck(
        events=verification.events,
        items=verification.streams,
        splits=splits,
        problems=problems,
    )
