"""Domain errors: what a use case raises when it refuses, with no HTTP in sight.

Handlers (services/*/src/<pkg>/handlers/) raise these; one mapping in rex_shared.api turns
each kind into an HTTP status and the error envelope, so no use case knows a status code and
every service answers the same refusal the same way. The `code` is the stable string clients
match on (BUDGET_EXCEEDED, UNKNOWN_METRIC, ...); `details` is the structured part of the reply.
"""

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal with a stable code. Subclasses say which kind it is."""

    kind: ClassVar[str] = "invalid"

    def __init__(
        self,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}
        self.retry_after_s = retry_after_s


class Invalid(DomainError):
    """The request is well-formed but cannot be done as asked (422)."""

    kind = "invalid"


class NotFound(DomainError):
    """No such object for this organization: another organization's is not found either."""

    kind = "not_found"

    def __init__(self, what: str, code: str = "NOT_FOUND") -> None:
        super().__init__(code, f"{what} not found")


class Forbidden(DomainError):
    """The caller is known but may not do this (403)."""

    kind = "forbidden"


class Conflict(DomainError):
    """The state of things refuses it: a name taken, a budget exceeded (409)."""

    kind = "conflict"


class TooLarge(DomainError):
    """The input is over a stated limit (413)."""

    kind = "too_large"


class Unsupported(DomainError):
    """A media type the use case does not read (415)."""

    kind = "unsupported"


class TooMany(DomainError):
    """A rate limit: try again after `retry_after_s` (429)."""

    kind = "too_many"


class Unavailable(DomainError):
    """A dependency is away; the same request may succeed later (503)."""

    kind = "unavailable"


# The one mapping from a refusal's kind to HTTP, used by rex_shared.api's error handler.
HTTP_STATUS: dict[str, int] = {
    "invalid": 422,
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "too_large": 413,
    "unsupported": 415,
    "too_many": 429,
    "unavailable": 503,
}
