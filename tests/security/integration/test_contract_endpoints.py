"""The endpoints the matrix must reach exist, and org A's objects for them could be made.

The matrix derives its checks from the OpenAPI documents; an endpoint that the contracts
(DESIGN.md, issues 3, 6 and 7) name but a service does not serve would silently escape it, and a
fixture that cannot be created would weaken it to random-id checks. Both fail here instead.
"""

import re
from typing import Any

import pytest
from sec_openapi import offline_spec, operations
from sec_world import CREATIONS, World

CONTRACT = {
    "evaluator": [
        "POST /api/v1/evaluations",
        "GET /api/v1/evaluations",
        "GET /api/v1/evaluations/{}",
        "POST /api/v1/datasets",
        "GET /api/v1/datasets",
        "GET /api/v1/datasets/{}",
        "PUT /api/v1/provider-keys/{}",
    ],
    "cost-ledger": [
        "GET /api/v1/costs/pricing",
        "POST /api/v1/costs/pricing",
        "GET /api/v1/costs/evaluations/{}",
        "GET /api/v1/costs/summary",
        "POST /api/v1/costs/estimate",
    ],
    "budget": [
        "POST /api/v1/budgets",
        "GET /api/v1/budgets",
        "GET /api/v1/budgets/{}",
        "PUT /api/v1/budgets/{}",
        "DELETE /api/v1/budgets/{}",
        "POST /api/v1/budgets/check",
        "GET /api/v1/budgets/alerts",
        "POST /api/v1/budgets/reservations",
        "POST /api/v1/budgets/reservations/{}/settle",
    ],
    "notifier": [
        "POST /api/v1/notifications/channels",
        "GET /api/v1/notifications/channels",
        "PUT /api/v1/notifications/channels/{}",
        "DELETE /api/v1/notifications/channels/{}",
        "POST /api/v1/notifications/channels/{}/test",
        "GET /api/v1/notifications/deliveries",
    ],
}


def _served(service: str) -> set[str]:
    ops = operations(service, offline_spec(service))
    return {f"{o.method} {re.sub(r'{[^}]+}', '{}', o.template)}" for o in ops}


@pytest.mark.parametrize(
    ("service", "endpoint"), [(s, e) for s, endpoints in CONTRACT.items() for e in endpoints]
)
def test_the_endpoint_the_contracts_name_is_served(service: str, endpoint: str) -> None:
    assert endpoint in _served(service), f"{service} does not serve {endpoint}"


@pytest.mark.parametrize(
    ("service", "collection"),
    [(c.service, c.collection) for c in CREATIONS]
    + [
        ("cost-ledger", "/api/v1/costs/evaluations"),
        ("budget", "/api/v1/budgets/alerts"),
        ("notifier", "/api/v1/notifications/deliveries"),
    ],
)
def test_org_a_has_an_object_in_every_collection_the_matrix_uses(
    service: str, collection: str, world: World, system: Any
) -> None:
    assert collection in world.owned.get(service, {}), world.failures.get(
        (service, collection), f"nothing recorded; all failures: {world.failures}"
    )


@pytest.mark.parametrize("kind", ["evaluation", "budget", "costs", "alert"])
def test_member_x_has_the_objects_the_isolation_tests_use(kind: str, world: World) -> None:
    assert kind in world.mine, f"member X's {kind} was not made: {world.failures}"


def _undocumented_success(spec: dict[str, Any]) -> list[str]:
    """Operations under /api/v1 whose 2xx replies have no schema beyond 'some object'."""
    found = []
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items() if path.startswith("/api/v1") else ():
            replies = [r for s, r in op.get("responses", {}).items() if s.startswith("2")]
            if any(set(r.get("content", {})) - {"application/json"} for r in replies):
                continue  # a stream or a file (text/event-stream, text/csv): no JSON shape
            schemas = [
                r.get("content", {}).get("application/json", {}).get("schema") or {}
                for r in replies
            ]
            if not any(s.get("$ref") or s.get("properties") or s.get("items") for s in schemas):
                found.append(f"{method.upper()} {path}")
    return found


# Known gaps, recorded so they can only shrink: operations that answer with the documented
# envelope but do not declare the shape of `data`. None left: a new undocumented operation
# fails the test, and so would an entry here once its operation is documented.
KNOWN_UNDOCUMENTED: dict[str, str] = {}


@pytest.mark.parametrize("service", list(CONTRACT))
def test_every_operation_documents_the_shape_of_its_success_reply(service: str) -> None:
    """Schemathesis checks replies against the document; without a schema that check is empty."""
    missing = _undocumented_success(offline_spec(service))
    if KNOWN_UNDOCUMENTED.get(service) == "*":
        assert missing, f"{service} documents every reply now: drop it from KNOWN_UNDOCUMENTED"
        return
    assert not missing, f"{service}: no response schema (response_model) for {missing}"
