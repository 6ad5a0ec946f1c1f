"""The custody history of one item: every event of its stream, with its hash and the hash it
chains to, and whether the chain verifies as printed."""

from io import BytesIO
from typing import Any

from django.utils import timezone
from reportlab.lib.units import inch
from reportlab.platypus import SimpleDocTemplate, Spacer, Table

from despp.core.eventlog import verify_streams
from despp.core.models import Event
from despp.forensics.events import Kind
from despp.forensics.models import Item
from despp.forensics.pdf._common import GRID, MARGIN, PAGE, numbered_canvas, para, when


def describe(event: Event) -> str:
    """One line saying what the event recorded, from its data alone."""
    data: dict[str, Any] = event.data
    kind = event.kind
    seal = {True: "seal intact", False: "SEAL NOT INTACT", None: ""}
    if kind == Kind.ITEM_SUBMITTED:
        return f"Listed by {data.get('officer', '')}: {data.get('description', '')}"
    if kind == Kind.ITEM_RECEIVED:
        parts = [f"Received from {data.get('received_from', '')} by {data.get('holder_name', '')}",
                 seal[data.get("seal_intact")], data.get("discrepancy", "")]  # fmt: skip
        return "; ".join(part for part in parts if part)
    if kind == Kind.ITEM_NOT_RECEIVED:
        return f"Not delivered: {data.get('discrepancy', '')}"
    if kind in {Kind.TRANSFER_REQUESTED, Kind.TRANSFERRED}:
        source = data.get("from_user_name") or data.get("from_location_path") or "-"
        target = data.get("to_user_name") or data.get("to_location_path") or "-"
        witness = f", witness {data['witness_name']}" if data.get("witness_name") else ""
        verb = "Transfer started" if kind == Kind.TRANSFER_REQUESTED else "Custody passed"
        return (
            f"{verb}: {source} -> {target}{witness}; {data.get('reason', '')}; "
            f"{seal[data.get('seal_intact')]}"
        )
    if kind == Kind.TRANSFER_WITHDRAWN:
        return f"Transfer {'declined' if data.get('declined') else 'withdrawn'}: {data['reason']}"
    if kind == Kind.ITEM_SPLIT:
        children = ", ".join(child["barcode"] for child in data.get("children", []))
        return f"Split into {children}: {data.get('reason', '')}"
    if kind == Kind.ITEM_CREATED_FROM:
        return (
            f"Created from {data.get('parent_barcode', '')} (its event "
            f"#{data.get('parent_position')}, hash {str(data.get('parent_head_hash', ''))[:16]}…)"
            f": {data.get('description', '')}"
        )
    if kind == Kind.ITEM_DISPOSED:
        who = data.get("recipient_name") or data.get("witness_name") or ""
        agency = data.get("recipient_agency_name") or ""
        return f"{data['disposition'].title()}: {who} {agency}; {data.get('reason', '')}".strip()
    return kind


def custody_pdf(item: Item, events: list[Event]) -> bytes:
    buffer = BytesIO()
    check = verify_streams([item.stream])
    verdict = (
        f"Chain verified: {check.events} events, every hash links to the one before."
        if check.ok
        else f"CHAIN BROKEN: {check.broken[0]}"
    )
    header = f"Custody history {item.barcode}"
    document = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN, title=header, author="DESPP Forensic Science Laboratory",
    )  # fmt: skip
    rows: list[list[Any]] = [
        [para("#", "small"), para("When / by", "small"), para("What", "small"),
         para("Hash / previous hash", "small")]
    ]  # fmt: skip
    for event in events:
        rows.append(
            [
                para(event.position, "small"),
                para(f"{when(event.at)}\n{event.actor_name or 'system'}", "small"),
                para(
                    f"{Kind(event.kind).label if event.kind in Kind.values else event.kind}\n"
                    f"{describe(event)}",
                    "small",
                ),
                para(f"{event.hash}\nprev {event.prev_hash}", "mono"),
            ]
        )
    table = Table(rows, colWidths=[0.3 * inch, 1.45 * inch, 2.95 * inch, 2.4 * inch],
                  repeatRows=1)  # fmt: skip
    table.setStyle(GRID)
    submission = item.submission
    story = [
        para(f"Chain of custody: {submission.lab_number} item {item.item_number}", "title"),
        para(
            f"{item.description} ({item.get_item_type_display()}, "
            f"{item.get_packaging_display()}, quantity {item.quantity}, seal "
            f"{item.seal_number or '-'}); case {submission.case_number}, "
            f"{submission.agency.name}. Stream {item.stream}."
        ),
        para(verdict, "banner" if not check.ok else "body"),
        Spacer(1, 6),
        table,
        Spacer(1, 10),
        para(f"End of custody history: {len(events)} events.", "small"),
    ]
    document.build(
        story,
        canvasmaker=numbered_canvas(header, f"Printed {when(timezone.now())}"),
    )
    return buffer.getvalue()
