"""Evidence labels: 10 per Letter sheet (2 x 5, 4 x 2 in, Avery 5163 layout), each with a
Code 128 barcode and a QR code of the item's barcode value, the lab number, the item number and
the description. Drawn straight on the canvas: a sheet for 10,000 items must stay quick."""

from collections.abc import Iterable
from io import BytesIO

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.units import inch
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from despp.forensics.models import Item
from despp.forensics.pdf._common import PAGE, draw_qr

LABEL_WIDTH = 4 * inch
LABEL_HEIGHT = 2 * inch
COLUMNS, ROWS = 2, 5
LEFT = (PAGE[0] - COLUMNS * LABEL_WIDTH - 0.19 * inch) / 2
TOP = PAGE[1] - 0.5 * inch
GUTTER = 0.19 * inch


class _Code128(Code128):
    """Code 128 drawn as one fill of integer rectangles in module units (the stock widget
    formats every bar's coordinates one by one, which dominates a sheet of thousands)."""

    def draw(self) -> None:
        self._calculate()
        bars, left = [], 0
        for symbol in self.decomposed:
            if symbol.islower():  # a space this many modules wide
                left += ord(symbol) - ord("a") + 1
            elif symbol.isupper():  # a bar
                width = ord(symbol) - ord("A") + 1
                bars.append(f"{left} 0 {width} 1 re")
                left += width
        canvas = self.canv
        canvas.saveState()
        canvas.setFillColor(colors.black)
        canvas.transform(self.barWidth, 0, 0, self.barHeight, self.lquiet if self.quiet else 0, 0)
        canvas.addLiteral("\n".join(bars) + "\nf")
        canvas.restoreState()


_PAD = 0.12 * inch
_QR_SIZE = LABEL_HEIGHT - 2 * _PAD
_TEXT_WIDTH = LABEL_WIDTH - _QR_SIZE - 3 * _PAD  # left of the QR code, with a gap
_FONT, _FONT_SIZE = "Helvetica", 7.5


def _wrap(description: str, lines: int = 3) -> list[str]:
    """The description in at most `lines` lines that fit the text column (cut with "…")."""
    out: list[str] = []
    line = ""
    for word in description.split():
        candidate = f"{line} {word}".strip()
        if stringWidth(candidate, _FONT, _FONT_SIZE) <= _TEXT_WIDTH or not line:
            line = candidate
            continue
        out.append(line)
        line = word
        if len(out) == lines:
            break
    if len(out) < lines and line:
        out.append(line)
    shown = " ".join(out)
    if shown != " ".join(description.split()):
        last = out[-1]
        while last and stringWidth(last + "…", _FONT, _FONT_SIZE) > _TEXT_WIDTH:
            last = last[:-1]
        out[-1] = last.rstrip() + "…"
    return [
        text if stringWidth(text, _FONT, _FONT_SIZE) <= _TEXT_WIDTH else text[:30] for text in out
    ]


def _label(canvas: Canvas, item: Item, lab_number: str, x: float, y: float) -> None:
    draw_qr(canvas, item.barcode, x + LABEL_WIDTH - _PAD - _QR_SIZE, y + _PAD, _QR_SIZE)
    text_x = x + _PAD
    top = y + LABEL_HEIGHT - _PAD
    canvas.setFont("Helvetica-Bold", 13)
    canvas.drawString(text_x, top - 11, lab_number)
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawString(text_x, top - 26, f"Item {item.item_number}")
    canvas.setFont(_FONT, _FONT_SIZE)
    for index, line in enumerate(_wrap(item.description)):
        canvas.drawString(text_x, top - 39 - index * 9, line)
    bar_width = 0.011 * inch
    barcode = _Code128(item.barcode, barHeight=0.36 * inch, barWidth=bar_width, quiet=False)
    if barcode.width > _TEXT_WIDTH:  # long sub-item numbers: narrower bars, same symbol
        bar_width *= _TEXT_WIDTH / barcode.width
        barcode = _Code128(item.barcode, barHeight=0.36 * inch, barWidth=bar_width, quiet=False)
    barcode.drawOn(canvas, text_x, y + _PAD + 10)
    canvas.setFont("Courier", 7.5)
    canvas.drawString(text_x, y + _PAD, item.barcode)


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
