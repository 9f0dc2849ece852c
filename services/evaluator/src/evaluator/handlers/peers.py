"""The ledger's and the budget service's refusals as the evaluator's own."""

from collections.abc import Iterator
from contextlib import contextmanager

from rex_shared.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    TooLarge,
    TooMany,
    Unavailable,
    Unsupported,
)

from evaluator.ports import Refused, ServiceUnavailable

# A peer's 4xx is passed on with its own code, message and details, as the same kind.
_KINDS: dict[int, type[DomainError]] = {
    403: Forbidden,
    409: Conflict,
    413: TooLarge,
    415: Unsupported,
    422: Invalid,
    429: TooMany,
}


def refusal(exc: Refused) -> DomainError:
    """The peer's error (e.g. 409 BUDGET_EXCEEDED), as the caller's refusal."""
    error = exc.error
    kind = _KINDS.get(exc.status, Invalid)
    return kind(
        str(error.get("code") or "REFUSED"),
        str(error.get("message") or "refused"),
        dict(error.get("details") or {}),
    )


def unavailable(exc: ServiceUnavailable) -> Unavailable:
    return Unavailable(
        "BUDGET_SERVICE_UNAVAILABLE", str(exc), {"service": exc.service, "reason": exc.reason}
    )


@contextmanager
def passed_on() -> Iterator[None]:
    """Peer failures inside the block leave it as domain errors."""
    try:
        yield
    except Refused as exc:
        raise refusal(exc) from exc
    except ServiceUnavailable as exc:
        raise unavailable(exc) from exc
