"""The laboratory's PDFs: labels carry the barcode and QR of every item, the custody history
shows every event with its hash, and the report carries ISO/IEC 17025 7.8.2.1's content."""

import os
from io import BytesIO
from pathlib import Path

from pypdf import PdfReader

from despp.core.eventlog import stream_events
from despp.forensics import services
from despp.forensics.pdf import custody_pdf, labels_pdf, report_pdf
from tests.forensics.conftest import first_item, record_and_complete, reviewed

KEEP = os.environ.get("DESPP_KEEP_PDFS")  # a folder: write the PDFs there to look at them


def _text(pdf: bytes, name: str) -> list[str]:
    """Each page's text, white space collapsed (table cells wrap their lines)."""
    if KEEP:
        Path(KEEP, name).write_bytes(pdf)
    return [" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(pdf)).pages]


def test_labels_show_each_items_lab_number_item_number_and_barcode(received):
    items = list(received.items.select_related("submission").order_by("id"))
    pages = _text(labels_pdf(items * 6), "labels.pdf")  # 12 labels: two pages
    assert len(pages) == 2
    assert pages[0].count(received.lab_number) >= 10
    assert f"{received.lab_number}-1" in pages[0]
    assert "Item 2" in pages[0]
    assert "Plastic bag, white powder" in pages[0]


def test_custody_history_lists_every_event_with_its_hash(received, lab):
    item = first_item(received)
    vault = lab.locations["vault-cage-1-a"]
    services.transfer_item(
        lab.intake, item, to_location=vault, witness=lab.analyst, reason="to the vault",
        seal_intact=True,
    )  # fmt: skip
    services.acknowledge_transfer(lab.analyst, item)
    events = stream_events(item.stream)
    text = " ".join(" ".join(_text(custody_pdf(item, events), "custody.pdf")).split())
    packed = text.replace(" ", "")  # a hash wraps across lines in its narrow column
    for event in events:
        assert event.hash in packed and event.prev_hash in packed
    assert "Chain verified: 4 events" in text
    assert "Evidence vault" in text and "witness Test Analyst" in text
    assert "Page 1 of 1" in text


def test_the_report_carries_the_iso_17025_content_and_a_clear_end(released):
    text = "\n".join(_text(report_pdf(released), "report-v1.pdf"))
    number = released.report.number
    for expected in [
        "Laboratory report: Drug identification",
        "Forensic Science Laboratory",
        f"{number} version 1",
        "Page 1 of",
        "State Police Troop C",
        "Identification by GC-MS (method cs-gcms-id, version 4.2)",
        "Date of receipt",
        "Dates of work",
        "Date of issue",
        "Cocaine identified",
        "relate only to the items tested",
        "Technical review",
        "Administrative review",
        "Test Labmanager",
        f"End of report {number} version 1.",
    ]:
        assert expected in text, expected


def test_an_amended_report_says_so_and_the_old_version_says_it_was_superseded(
    released, lab, django_capture_on_commit_callbacks
):
    lab_request = released.report.lab_request
    services.amend_report(lab.manager, released.report, reason="Net weight corrected")
    record_and_complete(lab, lab_request)
    reviewed(lab, lab_request)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.release_request(lab.manager, lab_request)
    new = "\n".join(_text(report_pdf(second), "report-v2.pdf"))
    assert "AMENDED REPORT. Version 2 replaces version 1" in new
    assert "Net weight corrected" in new
    released.report.refresh_from_db()
    old = "\n".join(_text(report_pdf(released), "report-v1-superseded.pdf"))
    assert "SUPERSEDED" in old and "version 2 of this" in old
