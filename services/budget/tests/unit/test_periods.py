"""Period bounds: calendar-aligned in the budget's timezone, DST-correct, UTC out."""

from datetime import UTC, datetime, timedelta

import pytest
from budget.domain.periods import is_timezone, period_bounds, zone


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CASES = [
    # (period, instant UTC, timezone, expected start UTC, expected end UTC)
    ("daily", "2024-03-15T12:34:56", "UTC", "2024-03-15T00:00", "2024-03-16T00:00"),
    ("daily", "2024-03-15T00:00:00", "UTC", "2024-03-15T00:00", "2024-03-16T00:00"),
    ("daily", "2024-03-15T23:59:59.999999", "UTC", "2024-03-15T00:00", "2024-03-16T00:00"),
    # Berlin springs forward: a 23-hour day; falls back: a 25-hour day.
    ("daily", "2024-03-31T12:00", "Europe/Berlin", "2024-03-30T23:00", "2024-03-31T22:00"),
    ("daily", "2024-10-27T12:00", "Europe/Berlin", "2024-10-26T22:00", "2024-10-27T23:00"),
    # New York: the local date differs from the UTC date in the evening.
    ("daily", "2024-03-10T03:00", "America/New_York", "2024-03-09T05:00", "2024-03-10T05:00"),
    ("daily", "2024-03-10T12:00", "America/New_York", "2024-03-10T05:00", "2024-03-11T04:00"),
    # Santiago skips midnight itself: the day starts at the transition instant.
    ("daily", "2024-09-08T12:00", "America/Santiago", "2024-09-08T04:00", "2024-09-09T03:00"),
    # Havana repeats its midnight hour: the day starts at the first midnight.
    ("daily", "2024-11-03T12:00", "America/Havana", "2024-11-03T04:00", "2024-11-04T05:00"),
    # Lord Howe shifts by thirty minutes.
    ("daily", "2024-10-06T12:00", "Australia/Lord_Howe", "2024-10-05T13:30", "2024-10-06T13:00"),
    ("daily", "2024-03-31T01:30", "Asia/Kolkata", "2024-03-30T18:30", "2024-03-31T18:30"),
    # ISO weeks start on Monday, across a year boundary too.
    ("weekly", "2024-01-03T10:00", "UTC", "2024-01-01T00:00", "2024-01-08T00:00"),
    ("weekly", "2025-01-01T00:00", "UTC", "2024-12-30T00:00", "2025-01-06T00:00"),
    ("weekly", "2024-01-07T23:59:59", "UTC", "2024-01-01T00:00", "2024-01-08T00:00"),
    ("weekly", "2024-01-08T00:00", "UTC", "2024-01-08T00:00", "2024-01-15T00:00"),
    ("weekly", "2024-03-10T12:00", "America/New_York", "2024-03-04T05:00", "2024-03-11T04:00"),
    ("monthly", "2024-02-29T23:59:59", "UTC", "2024-02-01T00:00", "2024-03-01T00:00"),
    ("monthly", "2024-12-31T12:00", "UTC", "2024-12-01T00:00", "2025-01-01T00:00"),
    # 23:30 UTC on 31 March is already April in Berlin.
    ("monthly", "2024-03-31T23:30", "Europe/Berlin", "2024-03-31T22:00", "2024-04-30T22:00"),
    ("monthly", "2024-03-31T21:59", "Europe/Berlin", "2024-02-29T23:00", "2024-03-31T22:00"),
    ("quarterly", "2024-02-10T00:00", "UTC", "2024-01-01T00:00", "2024-04-01T00:00"),
    ("quarterly", "2024-05-10T00:00", "UTC", "2024-04-01T00:00", "2024-07-01T00:00"),
    ("quarterly", "2024-09-30T23:59:59", "UTC", "2024-07-01T00:00", "2024-10-01T00:00"),
    ("quarterly", "2024-12-31T23:00", "UTC", "2024-10-01T00:00", "2025-01-01T00:00"),
    # Midnight of 1 January in Tokyo is 15:00 UTC the day before: a new quarter and year.
    ("quarterly", "2024-12-31T15:00", "Asia/Tokyo", "2024-12-31T15:00", "2025-03-31T15:00"),
    ("quarterly", "2024-12-31T14:59:59", "Asia/Tokyo", "2024-09-30T15:00", "2024-12-31T15:00"),
    ("yearly", "2024-07-01T00:00", "UTC", "2024-01-01T00:00", "2025-01-01T00:00"),
    (
        "yearly",
        "2025-01-01T07:59:59",
        "America/Los_Angeles",
        "2024-01-01T08:00",
        "2025-01-01T08:00",
    ),
    ("yearly", "2025-01-01T08:00", "America/Los_Angeles", "2025-01-01T08:00", "2026-01-01T08:00"),
]


@pytest.mark.parametrize(("period", "instant", "tz", "start", "end"), CASES)
def test_period_bounds_are_calendar_aligned_in_the_budget_timezone(
    period: str, instant: str, tz: str, start: str, end: str
) -> None:
    bounds = period_bounds(period, _utc(instant), tz)  # type: ignore[arg-type]
    assert (bounds.start, bounds.end) == (_utc(start), _utc(end))
    assert bounds.start.tzinfo is UTC and bounds.end.tzinfo is UTC


@pytest.mark.parametrize("period", ["daily", "weekly", "monthly", "quarterly", "yearly"])
@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/Santiago", "Asia/Kathmandu"])
def test_every_instant_lies_in_its_period_and_periods_tile_time(period: str, tz: str) -> None:
    at = _utc("2023-12-25T07:13:00")
    for _ in range(120):
        bounds = period_bounds(period, at, tz)  # type: ignore[arg-type]
        assert bounds.start <= at < bounds.end
        assert period_bounds(period, bounds.start, tz) == bounds  # type: ignore[arg-type]
        after = period_bounds(period, bounds.end, tz)  # type: ignore[arg-type]
        assert after.start == bounds.end
        at += timedelta(hours=37, minutes=11)


def test_a_naive_instant_is_read_as_utc() -> None:
    naive = datetime(2024, 3, 15, 23, 30)
    assert period_bounds("daily", naive, "UTC") == period_bounds(
        "daily", _utc("2024-03-15T23:30"), "UTC"
    )


def test_an_instant_with_another_offset_is_converted_first() -> None:
    at = datetime.fromisoformat("2024-03-16T01:30:00+02:00")  # 23:30 UTC on the 15th
    assert period_bounds("daily", at, "UTC").start == _utc("2024-03-15T00:00")


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("UTC", True),
        ("Europe/Berlin", True),
        ("America/Argentina/Buenos_Aires", True),
        ("Mars/Olympus", False),
        ("", False),
        ("../etc/passwd", False),
        ("utc", False),
    ],
)
def test_only_iana_zone_names_are_timezones(name: str, known: bool) -> None:
    assert is_timezone(name) is known


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        zone("Mars/Olympus")
