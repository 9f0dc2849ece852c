"""Budget periods: calendar-aligned in the budget's own timezone, DST-correct, UTC out."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from budget.domain.model import PeriodName


@dataclass(frozen=True)
class PeriodBounds:
    """A half-open period [start, end) as UTC instants."""

    start: datetime
    end: datetime


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    """True for an IANA zone name that zoneinfo knows."""
    return name in _known_zones()


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or ValueError."""
    if not is_timezone(name):
        raise ValueError(f"unknown timezone: {name!r}")
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError as exc:  # listed but unloadable: treat as unknown
        raise ValueError(f"unknown timezone: {name!r}") from exc


def period_bounds(period: PeriodName, at: datetime, timezone: str) -> PeriodBounds:
    """The period of kind `period` containing the instant `at`, aligned in `timezone`."""
    tz = zone(timezone)
    instant = at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # naive means UTC
    first = _first_day(period, instant.astimezone(tz).date())
    return PeriodBounds(_local_midnight(first, tz), _local_midnight(_next(period, first), tz))


def _first_day(period: PeriodName, day: date) -> date:
    if period == "daily":
        return day
    if period == "weekly":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if period == "monthly":
        return day.replace(day=1)
    if period == "quarterly":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def _next(period: PeriodName, first: date) -> date:
    if period == "daily":
        return first + timedelta(days=1)
    if period == "weekly":
        return first + timedelta(days=7)
    months = {"monthly": 1, "quarterly": 3, "yearly": 12}[period]
    index = first.month - 1 + months
    return date(first.year + index // 12, index % 12 + 1, 1)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    # fold=0 resolves both DST edge cases at midnight correctly: a skipped midnight maps to
    # the transition instant (the day's first real moment), a repeated one to its first pass.
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
