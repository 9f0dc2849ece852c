"""Delivery states, send errors and the retry schedule: pure, `now` and randomness passed in."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

Status = Literal["pending", "sent", "failed", "dead"]
STATUSES: tuple[Status, ...] = ("pending", "sent", "failed", "dead")


class DeliveryError(Exception):
    """A send that did not go through."""


class TransientError(DeliveryError):
    """Worth trying again later (server away, 4xx SMTP, HTTP 429/5xx)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class PermanentError(DeliveryError):
    """Trying again cannot help (SMTP 5xx, HTTP 4xx other than 429, bad configuration)."""


@dataclass(frozen=True)
class Delivery:
    """One message of one event to one channel; `attempts` counts sends started."""

    id: UUID
    event_id: str
    event_type: str
    org_id: str
    channel_key: str
    channel_kind: str
    status: Status
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    payload: dict[str, Any]
    created_at: datetime
    sent_at: datetime | None
    channel_id: UUID | None = None
    # The channel row's updated_at when claimed, so a cached adapter is rebuilt after an edit.
    channel_version: datetime | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with proportional jitter, capped, for a bounded number of attempts."""

    max_attempts: int = 8
    base_s: float = 5.0
    max_s: float = 600.0
    jitter: float = 0.2
    # A server's Retry-After is obeyed even beyond max_s, up to this bound (a typo'd header
    # saying "a week" must not park an alert for a week).
    retry_after_max_s: float = 3600.0

    def delay_s(self, attempts: int, rand: float) -> float:
        """Wait after the `attempts`-th failed attempt; `rand` in [0, 1) spreads retries out."""
        raw = min(self.max_s, self.base_s * 2.0 ** max(attempts - 1, 0))
        # Jitter keeps many deliveries that failed together from retrying in lockstep.
        return max(0.0, raw * (1 + self.jitter * (2 * rand - 1)))


@dataclass(frozen=True)
class Outcome:
    """What to record after a failed attempt: `failed` with a wait, or `dead`."""

    status: Literal["failed", "dead"]
    # Seconds from now, added by the database clock so hosts with skewed clocks agree.
    delay_s: float | None
    error: str


def after_failure(
    error: DeliveryError, *, attempts: int, policy: RetryPolicy, rand: float
) -> Outcome:
    """Decide between another try and giving up, honouring the server's Retry-After."""
    text = f"{type(error).__name__}: {error}"[:2000]
    if not isinstance(error, TransientError) or attempts >= policy.max_attempts:
        return Outcome("dead", None, text)
    wait = policy.delay_s(attempts, rand)
    if error.retry_after_s is not None:
        wait = min(max(error.retry_after_s, 0.0), policy.retry_after_max_s)
    return Outcome("failed", wait, text)


def classify_http(status: int, retry_after: str | None, detail: str = "") -> DeliveryError | None:
    """None for 2xx; transient for 429 and 5xx; permanent for the rest."""
    if 200 <= status < 300:
        return None
    text = f"HTTP {status} {detail}".strip()
    if status == 429:
        return TransientError(text, retry_after_s=_seconds(retry_after))
    if status >= 500:
        return TransientError(text)
    return PermanentError(text)


def classify_smtp(code: int, message: str) -> DeliveryError:
    """SMTP 4xx replies are temporary by definition (RFC 5321); 5xx are not."""
    if 400 <= code < 500:
        return TransientError(f"SMTP {code} {message}")
    return PermanentError(f"SMTP {code} {message}")


def _seconds(value: str | None) -> float | None:
    # Retry-After may also be an HTTP date; Slack sends seconds, so a date falls back to backoff.
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
