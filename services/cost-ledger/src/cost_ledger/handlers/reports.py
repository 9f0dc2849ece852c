"""Cost reports over the daily rollups and the ledger rows, with their limits."""

from datetime import date, timedelta
from typing import Any

from rex_shared.errors import Forbidden, Invalid

from cost_ledger.domain import periods
from cost_ledger.domain.reports import CallFilter, Cursor, Window
from cost_ledger.ports import CostReports

MAX_DAILY_DAYS = 366
MAX_JSON_ROWS = 1000


def own_user(asked: str | None, *, caller: str, only_own: bool) -> str | None:
    """The user filter a caller may use: members (`only_own`) only ever their own."""
    if not only_own:
        return asked
    if asked is not None and asked != caller:
        raise Forbidden("FORBIDDEN", "members see only their own costs")
    return caller


def window(period: periods.Period, start: date | None, end: date | None,
           today: date) -> tuple[date, date]:  # fmt: skip
    """The [first, after) days a report covers, refused past the limits."""
    try:
        first, after = periods.window(period, start, end, today=today)
    except (OverflowError, ValueError) as exc:  # a period reaching past year 1 or 9999
        raise Invalid("VALIDATION_ERROR", "dates out of range") from exc
    if after <= first:
        raise Invalid("VALIDATION_ERROR", "`to` must be after `from`")
    if (after - first).days > periods.MAX_DAYS:
        raise Invalid("VALIDATION_ERROR", f"at most {periods.MAX_DAYS} days at once")
    return first, after


def daily_window(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The days of a daily report: the last 30 by default, at most a year."""
    try:
        after = end or today + timedelta(days=1)
        first = start or after - timedelta(days=30)
    except OverflowError as exc:
        raise Invalid("VALIDATION_ERROR", "dates out of range") from exc
    if (after - first).days > MAX_DAILY_DAYS:
        raise Invalid("VALIDATION_ERROR", f"at most {MAX_DAILY_DAYS} days at once")
    return window("day", first, after, today)


async def summary(
    w: Window, *, period: periods.Period, group_by: str | None, reports: CostReports
) -> tuple[list[Any], list[Any]]:
    """(per group key, per time bucket) sums of the window."""
    return await reports.summary(w, group_by=group_by, bucket=periods.SERIES_BUCKET[period])


async def daily(w: Window, *, group_by: str | None, reports: CostReports) -> list[Any]:
    """Sums per (group key, day) of the window."""
    return await reports.rollup(w, group_by=group_by, bucket="day")


def page_size(limit: int | None, *, as_csv: bool) -> int:
    """Rows per page: CSV exports go up to 100000, JSON pages up to 1000."""
    size = limit or (10_000 if as_csv else 100)
    if not as_csv and size > MAX_JSON_ROWS:
        raise Invalid("VALIDATION_ERROR", "limit is at most 1000 (CSV: 100000)")
    return size


async def calls_page(
    f: CallFilter, *, after: Cursor | None, size: int, reports: CostReports
) -> tuple[list[Any], bool]:
    """Up to `size` ledger rows newest first after the cursor, and whether more follow."""
    rows = await reports.calls(f, after=after, limit=size + 1)
    return rows[:size], len(rows) > size
