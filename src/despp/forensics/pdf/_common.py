"""What the laboratory's PDFs share: styles, safe text, dates, "page x of y", QR codes."""

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import segno
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

PAGE = LETTER
MARGIN = 0.7 * inch
_BASE = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("title", parent=_BASE["Title"], fontSize=16, spaceAfter=4),
    "h2": ParagraphStyle("h2", parent=_BASE["Heading2"], fontSize=12, spaceBefore=8,
                         spaceAfter=4),
    "body": ParagraphStyle("body", parent=_BASE["BodyText"], fontSize=9.5, leading=12),
    "small": ParagraphStyle("small", parent=_BASE["BodyText"], fontSize=8, leading=10),
    "mono": ParagraphStyle("mono", parent=_BASE["Code"], fontSize=6.5, leading=8,
                           wordWrap="CJK"),
    "banner": ParagraphStyle("banner", parent=_BASE["BodyText"], fontSize=10, leading=13,
                             textColor=colors.HexColor("#7a0000"), borderColor=colors.HexColor(
                                 "#7a0000"), borderWidth=1, borderPadding=6, spaceAfter=10,
                             spaceBefore=4),
}  # fmt: skip
GRID = [
    ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("FONTSIZE", (0, 0), (-1, -1), 8),
]


def text(value: object) -> str:
    """Plain text made safe for a Paragraph (which reads a little XML markup)."""
    return escape("" if value is None else str(value)).replace("\n", "<br/>")


def para(value: object, style: str = "body") -> Paragraph:
    return Paragraph(text(value), STYLES[style])


def when(value: datetime | str | None, *, date_only: bool = False) -> str:
    """A stored timestamp (datetime or ISO text) in the display time zone."""
    if value is None or value == "":
        return "-"
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        return str(value)
    local = timezone.localtime(moment)
    return local.strftime("%Y-%m-%d") if date_only else local.strftime("%Y-%m-%d %H:%M:%S %Z")


def numbered_canvas(header: str, footer: str) -> type[Canvas]:
    """A canvas class that writes `header` and "Page x of y" on every page (the total is
    known only at the end, so pages are kept and stamped then)."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._stamp(total)
                super().showPage()
            super().save()

        def _stamp(self, total: int) -> None:
            width, height = self._pagesize
            self.saveState()
            self.setFont("Helvetica", 8)
            self.setFillColor(colors.HexColor("#333333"))
            self.drawString(MARGIN, height - 0.45 * inch, header)
            self.drawRightString(
                width - MARGIN, height - 0.45 * inch, f"Page {self._pageNumber} of {total}"
            )
            self.drawString(MARGIN, 0.4 * inch, footer)
            self.restoreState()

    return NumberedCanvas


def draw_qr(canvas: Canvas, value: str, x: float, y: float, size: float) -> None:
    """A regular (not micro) QR code of `value`, `size` points square, lower-left at (x, y).

    Drawn for speed, since a label sheet holds thousands: a fixed mask pattern (any of the
    eight is valid; searching for the "best" one costs most of the encoding time), and each
    row's dark runs written as PDF rectangles in module units under one transformation, with
    integer coordinates, as a single fill.
    """
    matrix = segno.make_qr(value, error="m", mask=_QR_MASK).matrix
    count = len(matrix)
    runs: list[str] = []
    for row_index, row in enumerate(matrix):
        top = count - 1 - row_index
        column = 0
        while column < count:
            if row[column]:
                start = column
                while column < count and row[column]:
                    column += 1
                runs.append(f"{start} {top} {column - start} 1 re")
            else:
                column += 1
    module = size / count
    canvas.saveState()
    canvas.setFillColor(colors.black)
    canvas.transform(module, 0, 0, module, x, y)
    canvas.addLiteral("\n".join(runs) + "\nf")
    canvas.restoreState()


_QR_MASK = 2
