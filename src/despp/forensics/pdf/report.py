"""The laboratory report, drawn from a version's frozen content alone, with what ISO/IEC
17025:2017 7.8.2.1 asks: title; laboratory name and address; the report's unique number and
version on every page with "page x of y" and a clear end; customer; method(s) with versions;
items with their description and condition; date of receipt; dates of work; date of issue;
results with units; "results relate only to the items tested"; analysts, reviewers and the
person authorising the report. An amended version says so and why (7.8.8); a superseded one
says which version replaces it."""

from io import BytesIO
from typing import Any

from reportlab.lib.units import inch
from reportlab.platypus import SimpleDocTemplate, Spacer, Table

from despp.forensics.models import ReportVersion
from despp.forensics.pdf._common import GRID, MARGIN, PAGE, numbered_canvas, para, when


def _grid(rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table(
        [[para(cell, "small") for cell in row] for row in rows], colWidths=widths, repeatRows=1
    )
    table.setStyle(GRID)
    return table


def _review(review: dict[str, Any] | None) -> str:
    return f"{review['name']} ({when(review['at'])})" if review else "-"


def report_pdf(version: ReportVersion) -> bytes:
    content: dict[str, Any] = version.content
    current = version.report.current_version
    number = f"{content['report_number']} version {content['version']}"
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"Laboratory report {number}",
        author=content["laboratory"]["name"],
    )
    lab = content["laboratory"]
    customer = content["customer"]
    story: list[Any] = [
        para(content["title"], "title"),
        para(f"{lab['name']}\n{lab['address']}"),
        Spacer(1, 6),
    ]
    if content.get("amendment"):
        amendment = content["amendment"]
        story.append(
            para(
                f"AMENDED REPORT. Version {content['version']} replaces version "
                f"{amendment['supersedes_version']} of this report. Reason: "
                f"{amendment['reason']}",
                "banner",
            )
        )
    if current > content["version"]:
        story.append(
            para(
                f"SUPERSEDED. This is version {content['version']}; version {current} of this "
                "report replaces it. Kept for the record.",
                "banner",
            )
        )
    facts = [
        ["Report", number],
        ["Laboratory number", content["lab_number"]],
        ["Customer", f"{customer['agency']} ({customer['officer']}"
                     f"{', badge ' + customer['badge'] if customer['badge'] else ''})"],
        ["Agency case number", content["case_number"]],
        ["Offense", content["offense"]],
        ["Examination", f"{content['examination']} ({content['section']})"],
        ["Date of receipt", when(content["received_at"])],
        ["Dates of work", f"{when(content['work_started_at'])} to "
                          f"{when(content['work_completed_at'])}"],
        ["Date of issue", when(content["issued_at"])],
    ]  # fmt: skip
    story += [
        _grid([["", ""], *facts], [1.7 * inch, 5.4 * inch]),
        para("Items examined", "h2"),
        _grid(
            [["Item", "Description", "Condition on receipt", "Received"]]
            + [
                [
                    f"{item['item_number']}\n{item['barcode']}",
                    f"{item['description']} ({item['item_type']}; {item['packaging']}; "
                    f"quantity {item['quantity']}; seal {item['seal_number'] or '-'})"
                    + (f"\nSub-item of {item['parent']}" if item["parent"] else ""),
                    (
                        "Seal intact"
                        if item["seal_intact_at_receipt"]
                        else "Seal NOT intact"
                        if item["seal_intact_at_receipt"] is False
                        else "-"
                    )
                    + (f"; {item['condition']}" if item["condition"] else ""),
                    when(item["received_at"]),
                ]
                for item in content["items"]
            ],
            [1.2 * inch, 3.0 * inch, 1.7 * inch, 1.2 * inch],
        ),
        para("Methods and instruments", "h2"),
        para(
            "; ".join(
                f"{m['name']} (method {m['code']}, version {m['version']})"
                for m in content["methods"]
            )
            or "-"
        ),
        para(
            "Instruments: "
            + (
                "; ".join(f"{i['name']} ({i['asset_tag']})" for i in content["instruments"])
                or "none"
            )
        ),
        para("Results", "h2"),
        _grid(
            [["Item", "Finding", "Value", "Method / instrument", "Analyst"]]
            + [
                [
                    r["item_number"] or "-",
                    r["finding"] + (f"\n{r['notes']}" if r["notes"] else ""),
                    f"{r['value']} {r['units']}".strip() or "-",
                    f"{r['method_name']} v{r['method_version']}"
                    + (f"\n{r['instrument_tag']}" if r["instrument_tag"] else ""),
                    f"{r['analyst_name']}\n{when(r['recorded_at'])}",
                ]
                for r in content["results"]
            ],
            [0.6 * inch, 2.9 * inch, 0.9 * inch, 1.5 * inch, 1.2 * inch],
        ),
        Spacer(1, 6),
        para(content["statement"]),
        para("Review and authorisation", "h2"),
        _grid(
            [
                ["", ""],
                ["Analyst(s)", ", ".join(content["analysts"])],
                ["Technical review", _review(content["technical_review"])],
                ["Administrative review", _review(content["administrative_review"])],
                [
                    "Authorised for release by",
                    f"{content['authorised_by']} ({when(content['issued_at'])})",
                ],
            ],
            [1.9 * inch, 5.2 * inch],
        ),
        Spacer(1, 14),
        para(f"End of report {number}.", "h2"),
    ]
    document.build(
        story,
        canvasmaker=numbered_canvas(
            f"{lab['name']} - report {number}",
            "This report may be reproduced only in full.",
        ),
    )
    return buffer.getvalue()
