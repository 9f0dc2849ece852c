"""Calendar periods (UTC days) for cost summaries: which days a request covers."""

from datetime import date, timedelta
from typing import Literal

Period = Literal["day", "week", "month", "quarter", "year"]
# The series inside a summary: finer than the period, coarse enough to stay short.
SERIES_BUCKET: dict[Period, str] = {
    "day": "day", "week": "day", "month": "day", "quarter": "week", "year": "month",
}  # fmt: skip
MAX_DAYS = 5 * 366


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(period: Period, d: date) -> date:
    """The first day of the period holding `d` (weeks start on Monday, like date_trunc)."""
    if period == "day":
        return d
    if period == "week":
        return d - timedelta(days=d.weekday())
    if period == "month":
        return d.replace(day=1)
    if period == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return date(d.year, 1, 1)


def period_end(period: Period, start: date) -> date:
    """The first day after the period that starts on `start`."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return _add_months(start, {"month": 1, "quarter": 3, "year": 12}[period])


def window(
    period: Period, start: date | None, end: date | None, *, today: date
) -> tuple[date, date]:
    """[first day, day after the last): explicit bounds, else the period holding `start`, else
    the period holding the day before `end` up to `end`, else the current period."""
    if start is not None and end is not None:
        return start, end
    if start is not None:
        first = period_start(period, start)
        return first, period_end(period, first)
    if end is not None:
        return period_start(period, end - timedelta(days=1)), end
    first = period_start(period, today)
    return first, period_end(period, first)
