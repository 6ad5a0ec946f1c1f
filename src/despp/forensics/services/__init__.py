"""Every change of state in the laboratory, one function each (validate, write in one
transaction, append the events, audit). Refusals: see `_common`'s docstring.

Submission and intake: `submit_evidence`, `receive_items`.
Custody: `transfer_item`, `acknowledge_transfer`, `withdraw_transfer`, `split_item`,
`dispose_item`.
Lab work: `assign_request`, `start_analysis`, `record_result`, `complete_analysis`,
`review_request`, `release_request`, `amend_report`, `cancel_request`.
Reports: `deliver_report` (send or retry e-mail deliveries), `report_content`.
"""

from despp.forensics.services.custody import (
    SubItemSpec,
    acknowledge_transfer,
    dispose_item,
    split_item,
    transfer_item,
    withdraw_transfer,
)
from despp.forensics.services.lab import (
    amend_report,
    assign_request,
    cancel_request,
    complete_analysis,
    record_result,
    release_request,
    review_request,
    start_analysis,
)
from despp.forensics.services.reports import deliver_report, report_content
from despp.forensics.services.submissions import (
    ExamSpec,
    ItemSpec,
    Receipt,
    SubmissionSpec,
    receive_items,
    submit_evidence,
)

__all__ = [
    "ExamSpec",
    "ItemSpec",
    "Receipt",
    "SubItemSpec",
    "SubmissionSpec",
    "acknowledge_transfer",
    "amend_report",
    "assign_request",
    "cancel_request",
    "complete_analysis",
    "deliver_report",
    "dispose_item",
    "receive_items",
    "record_result",
    "release_request",
    "report_content",
    "review_request",
    "split_item",
    "start_analysis",
    "submit_evidence",
    "transfer_item",
    "withdraw_transfer",
]
