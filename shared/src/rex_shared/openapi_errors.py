"""The error envelope in every service's OpenAPI document.

`install_error_handlers` answers every error, validation failures included, with
`{"success": false, "error": {...}}`; FastAPI's generated document instead promises its own
`HTTPValidationError` for 422 and nothing for 400/401/403/404/409/413/429. Clients and contract
tools (schemathesis) read the document, so it must say what the services really send.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from rex_shared.api import ErrorEnvelope

ERRORS = {
    "400": "Malformed request (e.g. JSON that does not parse)",
    "401": "Missing or invalid bearer token",
    "403": "The caller's role does not allow this, or plain HTTP where HTTPS is required",
    "404": "Not found (or another organization's)",
    "409": "Conflict with the current state",
    "413": "Request body too large",
    "422": "The request is invalid (a body, a query parameter or a cursor)",
    "429": "Rate limited; see Retry-After",
}
_REF = "#/components/schemas/{model}"


def _with_errors(schema: dict[str, Any]) -> dict[str, Any]:
    envelope = ErrorEnvelope.model_json_schema(ref_template=_REF)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(envelope.pop("$defs", {}))
    components["ErrorEnvelope"] = envelope
    ref = {"$ref": _REF.format(model="ErrorEnvelope")}
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            validation = responses.get("422", {}).get("content", {}).get("application/json", {})
            if "HTTPValidationError" in str(validation.get("schema", "")):
                del responses["422"]  # FastAPI's shape; the handlers send the envelope
            for status, description in ERRORS.items():
                responses.setdefault(
                    status,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return schema


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` declare the error envelope for the 4xx answers of /api routes."""
    generate: Callable[[], dict[str, Any]] = app.openapi  # caches in app.openapi_schema
    done: list[bool] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not done:
            _with_errors(schema)
            done.append(True)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
