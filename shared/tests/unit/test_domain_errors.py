"""A use case's refusal becomes one HTTP reply, the same in every service."""

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rex_shared import errors
from rex_shared.api import install_error_handlers

pytestmark = pytest.mark.unit


def _app(exc: errors.DomainError) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/x")
    async def refuse() -> None:
        raise exc

    return TestClient(app)


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.Invalid("UNKNOWN_METRIC", "no such metric"), 422),
        (errors.NotFound("budget"), 404),
        (errors.Forbidden("NOT_A_MEMBER", "not a member"), 403),
        (errors.Conflict("BUDGET_EXCEEDED", "over", {"budget_id": "b1"}), 409),
        (errors.TooLarge("BODY_TOO_LARGE", "too big"), 413),
        (errors.Unsupported("UNSUPPORTED_MEDIA_TYPE", "csv only"), 415),
        (errors.TooMany("RATE_LIMITED", "slow down", retry_after_s=3), 429),
        (errors.Unavailable("PEER_UNAVAILABLE", "budget is away"), 503),
    ],
)
def test_each_kind_has_one_status_and_the_error_envelope(
    exc: errors.DomainError, status: int
) -> None:
    reply = _app(exc).get("/x")
    assert reply.status_code == status
    body = reply.json()
    assert body["success"] is False
    assert body["error"]["code"] == exc.code
    assert body["error"]["message"] == exc.message


def test_details_and_retry_after_reach_the_client() -> None:
    reply = _app(errors.TooMany("RATE_LIMITED", "slow down", {"limit": 5}, retry_after_s=3)).get(
        "/x"
    )
    assert reply.headers["Retry-After"] == "3"
    assert reply.json()["error"]["details"] == {"limit": 5}


def test_every_kind_is_mapped() -> None:
    kinds = {cls.kind for cls in errors.DomainError.__subclasses__()}
    assert kinds == set(errors.HTTP_STATUS)
