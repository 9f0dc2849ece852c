"""The OpenAPI document declares the error envelope the services really send."""

from typing import Any

from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel
from rex_shared.app import build_app


class Thing(BaseModel):
    name: str


def _app() -> Any:
    router = APIRouter(prefix="/api/v1/things")

    @router.post("")
    async def make(body: Thing) -> dict[str, Any]:
        return {"success": True, "data": body.model_dump()}

    return build_app(service="t", title="t", lifespan=None, routers=[router], checks={})


def test_every_api_operation_documents_its_errors_as_the_envelope() -> None:
    app = _app()
    document = app.openapi()
    responses = document["paths"]["/api/v1/things"]["post"]["responses"]
    ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for status in ("400", "401", "403", "404", "409", "413", "422", "429"):
        assert responses[status]["content"]["application/json"]["schema"] == ref
    assert "error" in document["components"]["schemas"]["ErrorEnvelope"]["properties"]
    assert "ErrorBody" in document["components"]["schemas"]
    assert "404" not in document["paths"]["/health"]["get"]["responses"]
    assert app.openapi() is document


def test_a_validation_failure_is_answered_as_documented() -> None:
    reply = TestClient(_app()).post("/api/v1/things", json={})
    assert reply.status_code == 422
    assert reply.json()["success"] is False and reply.json()["error"]["code"] == "VALIDATION_ERROR"
