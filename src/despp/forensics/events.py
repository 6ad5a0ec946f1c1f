"""The laboratory's event kinds and the streams they go on.

- `item:<item id>`: the item's chain of custody - submitted, received (or not), transfers
  requested and acknowledged (or withdrawn), split into sub-items / created from a parent,
  disposed (returned, retained, destroyed).
- `labrequest:<request id>`: the request's lifecycle - created, assigned, started, results,
  completed, reviews, returned, restarted, released, amendment opened, cancelled.
- `report:<report id>`: each released version (its full content, hashed with the event) and
  every delivery attempt to each recipient.

Every event's `data` carries the ids and the names it speaks of (user ids *and* usernames,
location ids *and* paths), so the custody history reads and prints from the events alone and
the projections in the models can be rebuilt from them.
"""

from django.db import models


class Kind(models.TextChoices):
    ITEM_SUBMITTED = "item.submitted", "Listed on the submission"
    ITEM_RECEIVED = "item.received", "Received by the laboratory"
    ITEM_NOT_RECEIVED = "item.not_received", "Listed but not delivered"
    TRANSFER_REQUESTED = "custody.transfer_requested", "Transfer started"
    TRANSFERRED = "custody.transferred", "Transfer acknowledged"
    TRANSFER_WITHDRAWN = "custody.transfer_withdrawn", "Transfer withdrawn"
    ITEM_SPLIT = "item.split", "Split into sub-items"
    ITEM_CREATED_FROM = "item.created_from", "Created from a parent item"
    ITEM_DISPOSED = "item.disposed", "Disposition recorded"

    REQUEST_CREATED = "request.created", "Examination requested"
    REQUEST_ASSIGNED = "request.assigned", "Assigned to an analyst"
    REQUEST_STARTED = "request.started", "Analysis started"
    RESULT_RECORDED = "result.recorded", "Result recorded"
    REQUEST_COMPLETED = "request.completed", "Results handed in for review"
    REVIEW_TECHNICAL = "review.technical", "Technical review"
    REVIEW_ADMINISTRATIVE = "review.administrative", "Administrative review"
    REQUEST_RESTARTED = "request.restarted", "Rework started"
    REQUEST_RELEASED = "request.released", "Report released"
    AMENDMENT_OPENED = "request.amendment_opened", "Amendment opened"
    REQUEST_CANCELLED = "request.cancelled", "Request cancelled"

    REPORT_RELEASED = "report.released", "Report version released"
    DELIVERY_DELIVERED = "delivery.delivered", "Delivered to a recipient"
    DELIVERY_FAILED = "delivery.failed", "Delivery to a recipient failed"


def item_stream(item_id: int) -> str:
    return f"item:{item_id}"


def request_stream(request_id: int) -> str:
    return f"labrequest:{request_id}"


def report_stream(report_id: int) -> str:
    return f"report:{report_id}"


ITEM_PREFIX = "item:"
