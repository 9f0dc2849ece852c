"""Backoff schedule, give-up rules and the classification of send errors."""

import pytest
from notifier.domain.delivery import (
    DeliveryError,
    PermanentError,
    RetryPolicy,
    TransientError,
    after_failure,
    classify_http,
    classify_smtp,
)

POLICY = RetryPolicy(max_attempts=8, base_s=5.0, max_s=600.0, jitter=0.2)


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (5, 80.0), (6, 160.0), (7, 320.0), (8, 600.0)],
)
def test_the_backoff_doubles_per_attempt_up_to_the_cap(attempts: int, expected: float) -> None:
    assert POLICY.delay_s(attempts, rand=0.5) == pytest.approx(expected)  # 0.5: no jitter


@pytest.mark.parametrize(("rand", "factor"), [(0.0, 0.8), (0.25, 0.9), (0.999999, 1.2)])
def test_jitter_spreads_the_delay_by_the_configured_fraction(rand: float, factor: float) -> None:
    assert POLICY.delay_s(3, rand) == pytest.approx(20.0 * factor, rel=1e-4)


def test_a_transient_error_before_the_last_attempt_is_retried_later() -> None:
    outcome = after_failure(TransientError("down"), attempts=3, policy=POLICY, rand=0.5)
    assert outcome.status == "failed"
    assert outcome.delay_s == pytest.approx(20.0)
    assert outcome.error == "TransientError: down"


def test_a_transient_error_on_the_last_attempt_is_dead() -> None:
    outcome = after_failure(TransientError("down"), attempts=8, policy=POLICY, rand=0.5)
    assert (outcome.status, outcome.delay_s) == ("dead", None)


def test_a_permanent_error_is_dead_at_once() -> None:
    outcome = after_failure(PermanentError("HTTP 400"), attempts=1, policy=POLICY, rand=0.5)
    assert (outcome.status, outcome.delay_s) == ("dead", None)


@pytest.mark.parametrize(
    ("retry_after", "expected"), [(2.0, 2.0), (0.0, 0.0), (900.0, 900.0), (99999.0, 3600.0)]
)
def test_retry_after_replaces_the_backoff_even_beyond_its_cap_within_an_hour(
    retry_after: float, expected: float
) -> None:
    error = TransientError("429", retry_after_s=retry_after)
    outcome = after_failure(error, attempts=1, policy=POLICY, rand=0.9)
    assert outcome.delay_s == pytest.approx(expected)


@pytest.mark.parametrize(
    ("status", "retry_after", "kind", "wait"),
    [
        (200, None, None, None),
        (204, None, None, None),
        (301, None, PermanentError, None),
        (400, None, PermanentError, None),
        (403, None, PermanentError, None),
        (404, None, PermanentError, None),
        (429, "2", TransientError, 2.0),
        (429, "Wed, 21 Oct 2026 07:28:00 GMT", TransientError, None),
        (429, None, TransientError, None),
        (500, None, TransientError, None),
        (503, "5", TransientError, None),
    ],
)
def test_http_statuses_are_classified(
    status: int,
    retry_after: str | None,
    kind: type[DeliveryError] | None,
    wait: float | None,
) -> None:
    error = classify_http(status, retry_after)
    if kind is None:
        assert error is None
        return
    assert type(error) is kind
    if isinstance(error, TransientError):
        assert error.retry_after_s == wait


@pytest.mark.parametrize(
    ("code", "kind"),
    [(421, TransientError), (450, TransientError), (452, TransientError),
     (535, PermanentError), (550, PermanentError), (554, PermanentError)],
)  # fmt: skip
def test_smtp_4xx_is_transient_and_5xx_permanent(code: int, kind: type[DeliveryError]) -> None:
    assert type(classify_smtp(code, "reply")) is kind
