"""Operations read from each service's OpenAPI document, and requests built for them.

Everything the matrix checks is derived from here, so an endpoint a service adds later is
covered without editing the tests.
"""

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from uuid import uuid4

from pydantic import SecretStr
from sec_apps import BUILDERS

API = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Op:
    """One path + method under /api/v1 of one service."""

    service: str
    method: str
    template: str
    path_params: tuple[tuple[str, str], ...]  # (name, sample for a random value)
    query: tuple[tuple[str, str], ...]  # required query parameters and a value for each
    has_body: bool
    optional: tuple[str, ...] = ()  # names of the optional query parameters

    @property
    def id(self) -> str:
        return f"{self.service} {self.method} {self.template}"

    @property
    def is_collection(self) -> bool:
        return not self.path_params


def offline_spec(service: str) -> dict[str, Any]:
    """The service's OpenAPI document without starting it (used at collection time)."""
    values = {
        "env": "test",
        "database_url": "postgresql://nobody:x@127.0.0.1:1/none",
        "jwt_secret": SecretStr(secrets.token_urlsafe(48)).get_secret_value(),
        "consumer_group": "unused",
        "keks": "k1:" + "A" * 43 + "=",
    }
    _, app = BUILDERS[service](values, {})
    spec: dict[str, Any] = app.openapi()
    return spec


def _deref(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [_deref(spec, s) for s in schema[key] if s.get("type") != "null"]
            if options:
                return options[0]
    return schema


def sample(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    """A valid value for a parameter: its enum, default or example, else one of its type."""
    schema = _deref(spec, schema)
    for key in ("enum",):
        if schema.get(key):
            return str(schema[key][0])
    for key in ("default", "example"):
        if schema.get(key) is not None:
            return str(schema[key]).lower() if isinstance(schema[key], bool) else str(schema[key])
    kind = schema.get("type")
    if kind == "integer" or kind == "number":
        return str(max(1, schema.get("minimum", 1)))
    if kind == "boolean":
        return "true"
    if schema.get("format") == "date-time":
        return "2025-01-01T00:00:00Z"
    if schema.get("format") == "date":
        return "2025-01-01"
    return str(uuid4())  # ids are UUIDs; a random one names nothing


def operations(service: str, spec: dict[str, Any]) -> list[Op]:
    """Every operation under /api/v1, in document order."""
    found = []
    for template, item in spec.get("paths", {}).items():
        if not template.startswith(API):
            continue
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            path = tuple(
                (p["name"], sample(spec, p.get("schema", {}))) for p in params if p["in"] == "path"
            )
            query = tuple(
                (p["name"], sample(spec, p.get("schema", {})))
                for p in params
                if p["in"] == "query" and p.get("required")
            )
            optional = tuple(
                p["name"] for p in params if p["in"] == "query" and not p.get("required")
            )
            found.append(
                Op(service, method.upper(), template, path, query, "requestBody" in op, optional)
            )
    return found


def fill(op: Op, owned: dict[str, str]) -> tuple[str, list[str]]:
    """The concrete path: each `{param}` gets the id owned at the collection before it, else a
    random value. Returns (path, the owned ids used)."""
    random_values = dict(op.path_params)
    segments, out, used = op.template.split("/"), [], []
    for i, segment in enumerate(segments):
        if segment.startswith("{") and segment.endswith("}"):
            collection = "/".join(segments[:i])
            if collection in owned:
                out.append(quote(owned[collection], safe=""))
                used.append(owned[collection])
            else:
                out.append(quote(random_values[segment[1:-1]], safe=""))
        else:
            out.append(segment)
    return "/".join(out), used


def find(ops: list[Op], method: str, template: str) -> Op | None:
    return next((o for o in ops if o.method == method and o.template == template), None)
