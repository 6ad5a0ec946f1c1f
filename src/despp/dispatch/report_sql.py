"""SQL expressions the compliance reports are computed with, the same on SQLite and PostgreSQL.

Everything stays in the database's own arithmetic (no per-row Python functions): Django's
`Trunc*` and datetime subtraction call Python functions row by row on SQLite, which is what
made a quarter of a million-call PSAP slow. Instead:

- `Epoch(ts)`: seconds since 1970 as a float (SQLite `julianday`, millisecond resolution;
  PostgreSQL `date_part('epoch', …)`, microseconds, in double precision: `EXTRACT`
  returns numeric since PostgreSQL 14, several times slower). An interval is
  `Epoch(end) - Epoch(start)`.
- Buckets are integer keys. Hours: `floor(epoch / 3600)` (real hours; the local label is
  derived, exact for whole-hour UTC offsets such as America/New_York). Days: the local epoch
  (epoch + the UTC offset in force, a CASE over the period's few DST changes) over 86,400, so
  a local day of 23 or 25 hours is one bucket. Quarters: a CASE over the period's quarter
  starts. `Bucketing.start_of(key)` turns a key back into the bucket's local start.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from django.db import models
from django.db.models import Case, ExpressionWrapper, F, FloatField, Func, Value, When
from django.db.models.expressions import Combinable

HOUR = 3600
DAY = 86400


class Granularity(models.TextChoices):
    HOUR = "hour", "Hour"
    DAY = "day", "Day"
    QUARTER = "quarter", "Quarter"


class Epoch(Func):
    """Seconds since 1970-01-01 UTC of a datetime column, as a float."""

    output_field = FloatField()
    arity = 1

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "date_part('epoch', %(expressions)s)"
        return super().as_sql(compiler, connection, template=template, **extra)


class FloorInt(Func):
    """floor(x) as an integer; x is never negative here (times after 1970)."""

    output_field = models.BigIntegerField()
    arity = 1

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler, connection, template="CAST(%(expressions)s AS INTEGER)", **extra
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler, connection, template="FLOOR(%(expressions)s)::bigint", **extra
        )


def duration(start: Combinable, end: Combinable) -> ExpressionWrapper:
    """`end - start` in seconds (float); NULL when either is NULL."""
    return ExpressionWrapper(Epoch(end) - Epoch(start), output_field=FloatField())


def offset_changes(zone: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(instant, UTC offset in seconds from then on) for `start` and every change up to `end`.

    Found by stepping hour by hour (a quarter is ~2,200 steps; offsets change on the hour).
    """

    def offset_at(instant: datetime) -> int:
        delta = instant.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    changes = [(start, offset_at(start))]
    probe = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while probe < end:
        probe += timedelta(hours=1)
        current = offset_at(probe)
        if current != changes[-1][1]:
            changes.append((probe, current))
    return changes


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_quarter(day: date) -> date:
    start = quarter_start(day)
    return date(start.year + (start.month == 10), (start.month + 2) % 12 + 1, 1)


@dataclass
class Bucketing:
    """How one period [start, end) of local days splits into buckets, and the SQL that keys a
    row's datetime column into them."""

    granularity: Granularity
    zone: tzinfo
    first_day: date
    last_day: date  # inclusive
    _quarters: list[date] = field(default_factory=list)

    @property
    def start(self) -> datetime:
        return self.local_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        return self.local_midnight(self.last_day + timedelta(days=1))

    def local_midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)

    def quarters(self) -> list[date]:
        if not self._quarters:
            day = quarter_start(self.first_day)
            while day <= self.last_day:
                self._quarters.append(day)
                day = next_quarter(day)
        return self._quarters

    def keys(self) -> list[int]:
        """Every bucket of the period, in order (empty ones included)."""
        if self.granularity == Granularity.QUARTER:
            return list(range(len(self.quarters())))
        if self.granularity == Granularity.DAY:
            first = (self.first_day - date(1970, 1, 1)).days
            return list(range(first, first + (self.last_day - self.first_day).days + 1))
        first = int(self.start.timestamp()) // HOUR
        return list(range(first, -(-int(self.end.timestamp()) // HOUR)))

    def start_of(self, key: int) -> datetime:
        if self.granularity == Granularity.QUARTER:
            return self.local_midnight(self.quarters()[key])
        if self.granularity == Granularity.DAY:
            return self.local_midnight(date(1970, 1, 1) + timedelta(days=key))
        return datetime.fromtimestamp(key * HOUR, UTC).astimezone(self.zone)

    def label(self, key: int) -> str:
        start = self.start_of(key)
        if self.granularity == Granularity.QUARTER:
            return f"{start.year} Q{(start.month - 1) // 3 + 1}"
        if self.granularity == Granularity.DAY:
            return start.strftime("%Y-%m-%d")
        return start.strftime("%Y-%m-%d %H:00 %Z")

    def key_expression(self, column: str) -> Any:
        """SQL giving the bucket key of the row's `column` (a datetime)."""
        if self.granularity == Granularity.QUARTER:
            starts = [self.local_midnight(day) for day in self.quarters()[1:]]
            whens = [
                When(**{f"{column}__lt": boundary}, then=Value(index))
                for index, boundary in enumerate(starts)
            ]
            return Case(*whens, default=Value(len(starts)), output_field=models.IntegerField())
        if self.granularity == Granularity.HOUR:
            return FloorInt(Epoch(F(column)) / Value(float(HOUR)))
        changes = offset_changes(self.zone, self.start, self.end)
        offset: Any = Value(float(changes[-1][1]))
        if len(changes) > 1:
            offset = Case(
                *[
                    When(**{f"{column}__lt": changes[index + 1][0]}, then=Value(float(off)))
                    for index, (_, off) in enumerate(changes[:-1])
                ],
                default=Value(float(changes[-1][1])),
                output_field=FloatField(),
            )
        return FloorInt((Epoch(F(column)) + offset) / Value(float(DAY)))
