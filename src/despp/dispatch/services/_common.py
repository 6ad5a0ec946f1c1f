"""Helpers the call and incident services share: events gathered during a transaction and
appended as its last writes, and time checks."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from despp.core import eventlog
from despp.core.models import User

# Times a client reports (received, answered) may run this far ahead of the server's clock.
FUTURE_SKEW = timedelta(minutes=2)
MAX_REASON = 200
MAX_NOTE = 2000


@dataclass
class Pending:
    """Events to append at the end of a transaction, in order (appending takes the
    database-wide event lock, so it comes after every other write)."""

    actor: User | None
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, stream: str, kind: str, data: dict[str, Any]) -> None:
        self.events.append((stream, kind, data))

    def flush(self) -> None:
        for stream, kind, data in self.events:
            eventlog.append(stream, kind, data, actor=self.actor)
        self.events.clear()


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def check_time(name: str, value: datetime | None, now: datetime) -> datetime | None:
    """A client-supplied time: aware, and not in the future beyond clock skew."""
    if value is None:
        return None
    if timezone.is_naive(value):
        raise ValidationError({name: "must carry a time zone (e.g. 2026-11-27T14:03:00Z)"})
    if value > now + FUTURE_SKEW:
        raise ValidationError({name: "is in the future"})
    if value.year < 2000:
        raise ValidationError({name: "is before the year 2000"})
    return value


def clean_text(name: str, value: str | None, max_length: int, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({name: "is required"})
    if len(text) > max_length:
        raise ValidationError({name: f"must be at most {max_length} characters"})
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise ValidationError({name: "may not contain control characters"})
    return text
