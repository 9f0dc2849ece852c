"""Retry timing for provider calls: exponential backoff with full jitter, or Retry-After."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

RETRYABLE_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is retried."""

    max_retries: int = 2
    base_s: float = 0.5
    cap_s: float = 20.0
    max_retry_after_s: float = 60.0  # a longer Retry-After fails the call instead of waiting


def retryable(status: int | None) -> bool:
    """Rate limits, timeouts, conflicts and server errors are worth another try (None: no
    HTTP status, i.e. the connection failed or timed out)."""
    return status is None or status in RETRYABLE_STATUS


def retry_after_s(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the provider asked us to wait: `retry-after-ms`, `retry-after` (seconds or an
    HTTP date); None when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def delay_s(policy: RetryPolicy, attempt: int, retry_after: float | None, rand: float) -> float:
    """Wait before retry number `attempt` (0-based); `rand` in [0, 1) supplies the jitter.

    With Retry-After: that long plus up to 10% (so many clients told the same moment do not
    all come back at once). Without: full jitter over min(cap, base x 2^attempt)."""
    if retry_after is not None:
        return retry_after * (1 + 0.1 * rand)
    return rand * min(policy.cap_s, policy.base_s * float(2**attempt))
