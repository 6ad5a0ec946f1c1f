"""Evidence labels: 10 per Letter sheet (2 x 5, 4 x 2 in, Avery 5163 layout), each with a
Code 128 barcode and a QR code of the item's barcode value, the lab number, the item number and
the description. Drawn straight on the canvas: a sheet for 10,000 items must stay quick."""

from collections.abc import Iterable
from io import BytesIO

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas

from despp.forensics.models import Item
from despp.forensics.pdf._common import PAGE, draw_qr

LABEL_WIDTH = 4 * inch
LABEL_HEIGHT = 2 * inch
COLUMNS, ROWS = 2, 5
LEFT = (PAGE[0] - COLUMNS * LABEL_WIDTH - 0.19 * inch) / 2
TOP = PAGE[1] - 0.5 * inch
GUTTER = 0.19 * inch
_DESCRIPTION_CHARS = 52


def _wrap(description: str, width: int = _DESCRIPTION_CHARS, lines: int = 2) -> list[str]:
    words, out, line = description.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if len(candidate) > width and line:
            out.append(line)
            line = word
        else:
            line = candidate
        if len(out) == lines:
            break
    if len(out) < lines and line:
        out.append(line)
    if len(out) == lines and " ".join(out) != " ".join(words):
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return [text[:width] for text in out]


def _label(canvas: Canvas, item: Item, lab_number: str, x: float, y: float) -> None:
    pad = 0.12 * inch
    qr_size = LABEL_HEIGHT - 2 * pad
    draw_qr(canvas, item.barcode, x + LABEL_WIDTH - pad - qr_size, y + pad, qr_size)
    text_x = x + pad
    canvas.setFont("Helvetica-Bold", 13)
    canvas.drawString(text_x, y + LABEL_HEIGHT - pad - 11, lab_number)
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(text_x, y + LABEL_HEIGHT - pad - 26, f"Item {item.item_number}")
    canvas.setFont("Helvetica", 7.5)
    for index, line in enumerate(_wrap(item.description)):
        canvas.drawString(text_x, y + LABEL_HEIGHT - pad - 39 - index * 9, line)
    barcode = Code128(item.barcode, barHeight=0.42 * inch, barWidth=0.011 * inch, quiet=False)
    barcode.drawOn(canvas, text_x, y + pad + 10)
    canvas.setFont("Courier", 7.5)
    canvas.drawString(text_x, y + pad, item.barcode)


def labels_pdf(items: Iterable[Item], *, title: str = "Evidence labels") -> bytes:
    """One label per item, ten to a page, in the order given."""
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=PAGE, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("DESPP Forensic Science Laboratory")
    slot = 0
    for item in items:
        if slot == COLUMNS * ROWS:
            canvas.showPage()
            slot = 0
        row, column = divmod(slot, COLUMNS)
        x = LEFT + column * (LABEL_WIDTH + GUTTER)
        y = TOP - (row + 1) * LABEL_HEIGHT
        _label(canvas, item, item.submission.lab_number, x, y)
        slot += 1
    if slot == 0:
        canvas.setFont("Helvetica", 11)
        canvas.drawString(LEFT, TOP - 20, "No items.")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
