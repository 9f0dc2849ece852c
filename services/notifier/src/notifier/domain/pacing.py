"""Per-channel pacing as a token bucket in its GCRA form: sends wait for a slot, none dropped.

A channel allows `burst` sends at once and `per_second` on average. The bucket's whole state is
one timestamp, the theoretical arrival time (TAT), kept in PostgreSQL so every instance shares
it. A worker claims only the sends whose slot comes within a short horizon and takes those
slots; the rest stay due in the table, holding nothing, and the newest go first when slots
free up, so a fresh alert is not queued behind a storm.
"""

import math
from collections.abc import Callable

from notifier.domain.channels import RateLimit

# How many slots to take of a channel's bucket: (seconds per slot, decide(ahead_s) -> count),
# where ahead_s is how far the bucket's TAT is ahead of now.
Taking = tuple[float, Callable[[float], int]]


def interval_s(rate: RateLimit) -> float:
    """Seconds between sends at the average rate."""
    return 1.0 / rate.per_second


def _tolerance_s(rate: RateLimit) -> float:
    return (rate.burst - 1) * interval_s(rate)


def slot_waits(rate: RateLimit, *, ahead_s: float, count: int) -> list[float]:
    """Seconds from now until each of the next `count` sends may go.

    `ahead_s` is how far the bucket's TAT is ahead of now (0 when the bucket is idle). The
    k-th send may go at TAT + k*T - (burst-1)*T, never before now.
    """
    step, tolerance = interval_s(rate), _tolerance_s(rate)
    return [max(0.0, ahead_s + k * step - tolerance) for k in range(count)]


def takeable(rate: RateLimit, *, ahead_s: float, wanted: int, within_s: float) -> int:
    """How many of `wanted` sends get a slot within `within_s` seconds."""
    step = interval_s(rate)
    first_late = math.floor((within_s + _tolerance_s(rate) - ahead_s) / step + 1e-9) + 1
    return max(0, min(wanted, first_late))
