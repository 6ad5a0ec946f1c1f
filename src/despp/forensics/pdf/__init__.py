"""The laboratory's PDFs (reportlab; QR codes by segno, barcodes Code 128): item labels, an
item's custody history, and each version of a lab report."""

from despp.forensics.pdf.custody import custody_pdf
from despp.forensics.pdf.labels import labels_pdf
from despp.forensics.pdf.report import report_pdf

__all__ = ["custody_pdf", "labels_pdf", "report_pdf"]
