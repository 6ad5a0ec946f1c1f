"""The event log: append-only, SHA-256 hash-chained per stream.

CAD timelines, chain of custody, alert history and workflow transitions are all events. `seq` is
global and monotonic (it drives live feeds and `Last-Event-ID`); `position` numbers the events
of one stream from 1, and (stream, position) is unique, so two writers racing to extend the
same stream cannot both succeed.

Rows are only ever inserted, through `despp.core.eventlog.append`. The model refuses to update
or delete a stored event, and database triggers (migration 0002) refuse it for any other client
too; the hash chain exposes whatever gets past both.
"""

from django.conf import settings
from django.db import models

from despp.core.models.appendonly import AppendOnlyModel


class Event(AppendOnlyModel):
    seq = models.BigAutoField(primary_key=True)
    stream = models.CharField(max_length=80)
    position = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=60)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["stream", "position"], name="event_stream_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream}#{self.position} {self.kind}"
