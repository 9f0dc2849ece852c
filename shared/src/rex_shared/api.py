"""The HTTP API conventions every service shares: envelope, error codes, ops endpoints."""

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

import asyncpg
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, BeforeValidator, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from rex_shared.errors import HTTP_STATUS, DomainError

log = logging.getLogger(__name__)
T = TypeVar("T")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(kind: str, example: str) -> Callable[[object], object]:
    """Refuse what pydantic would otherwise read as a Unix timestamp ("0", 0, "1.5e9")."""

    def check(value: object) -> object:
        if isinstance(value, (date, datetime)):
            return value
        if not (isinstance(value, str) and _ISO_DATE.match(value)):
            raise ValueError(f"expected an ISO 8601 {kind} such as {example}")
        return value

    return check


# Dates and times the API accepts only as ISO 8601 text, as its documents say (format date /
# date-time): a number is refused rather than taken as seconds since 1970.
IsoDate = Annotated[date, BeforeValidator(_iso_only("date", "2026-11-01"))]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only("date-time", "2026-11-01T09:30:00Z"))]


class Envelope(BaseModel, Generic[T]):
    """`{"success": true, "data": ...}`."""

    success: bool = True
    data: T


def documented(model: type[BaseModel], *, status: int = 200) -> dict[str, Any]:
    """Route options that document `Envelope[model]` as the success reply and leave the reply
    as the route builds it: `response_model=Any` keeps FastAPI's fast path to JSON bytes but
    validates and filters nothing, and its empty schema leaves only `model` in the document.
    Use as `@router.get(path, **documented(Model))`."""
    envelope = Envelope[model]  # type: ignore[valid-type]  # a runtime parameter, on purpose
    return {"response_model": Any, "responses": {status: {"model": envelope}}}


# An amount (or ratio) in a reply: an exact decimal string, never a JSON number.
DecimalText = Annotated[
    str,
    Field(
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description="An exact decimal string (never a float)",
        examples=["0.0025"],
    ),
]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorEnvelope(BaseModel):
    """`{"success": false, "error": {"code", "message", "details"}}`."""

    success: bool = False
    error: ErrorBody


class APIError(Exception):
    """An error the client caused or must know about, with a stable code."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}
        self.headers: dict[str, str] = {}

    def with_headers(self, headers: dict[str, str]) -> "APIError":
        """Attach response headers (e.g. Retry-After) and return self."""
        self.headers.update(headers)
        return self


class NotFound(APIError):
    def __init__(self, what: str) -> None:
        super().__init__(404, "NOT_FOUND", f"{what} not found")


def ok(data: Any) -> dict[str, Any]:
    """Wrap data in the success envelope."""
    return {"success": True, "data": data}


def _error(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorEnvelope(error=ErrorBody(code=code, message=message, details=details or {}))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


_TEXT_ERRORS = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as the error envelope; validation failures are 422 VALIDATION_ERROR."""

    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, APIError)
        return _error(exc.status, exc.code, exc.message, exc.details, headers=exc.headers or None)

    async def validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg")),
                "type": str(e.get("type")),
            }
            for e in exc.errors()
        ]
        malformed = any(e["type"] == "json_invalid" for e in errors)
        code = "MALFORMED_JSON" if malformed else "VALIDATION_ERROR"
        return _error(422 if not malformed else 400, code, "request is invalid", {"errors": errors})

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return _error(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))

    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return _error(500, "INTERNAL_ERROR", "internal error")

    async def bad_text(_: Request, exc: Exception) -> Response:
        # Only client text reaches the database as text: a NUL byte or an unencodable
        # character is bad input, whichever endpoint it came through.
        return _error(422, "INVALID_TEXT", "text contains a character that cannot be stored")

    async def domain_error(_: Request, exc: Exception) -> Response:
        # The one place a use case's refusal becomes HTTP (rex_shared.errors.HTTP_STATUS).
        assert isinstance(exc, DomainError)
        headers = {"Retry-After": str(exc.retry_after_s)} if exc.retry_after_s else None
        status = HTTP_STATUS[exc.kind]
        return _error(status, exc.code, exc.message, exc.details, headers=headers)

    for text_error in _TEXT_ERRORS:
        app.add_exception_handler(text_error, bad_text)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(APIError, api_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


ReadyCheck = Callable[[], Awaitable[None]]


def ops_router(checks: dict[str, ReadyCheck]) -> APIRouter:
    """`/health` (alive), `/ready` (every dependency answers, not draining), `/metrics`."""
    router = APIRouter(tags=["ops"])

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return ok({"status": "ok"})

    @router.get("/ready")
    async def ready(request: Request) -> Response:
        # Shutting down: say so at once, so load balancers stop sending before we stop serving.
        if getattr(request.app.state, "draining", False):
            return _error(503, "NOT_READY", "shutting down", {"status": "draining"})
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"error: {type(exc).__name__}"
        if all(v == "ok" for v in results.values()):
            return JSONResponse(ok({"status": "ready", "checks": results}))
        return _error(503, "NOT_READY", "dependencies unavailable", {"checks": results})

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
