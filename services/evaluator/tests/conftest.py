"""Fixtures shared by the evaluator's test tiers: the simulator, SDK clients on it, fakes."""

import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import anthropic
import httpx
import httpx2
import openai
import pytest
from evaluator.adapters.llm_anthropic import AnthropicMessages
from evaluator.adapters.llm_openai import OpenAiChat
from evaluator.domain.model import Quote, Reservation
from evaluator.handlers.estimates import estimator
from evaluator.handlers.evaluations import Gatekeeping
from evaluator.ports import LlmClient, Refused
from fastapi import FastAPI
from jsonschema import Draft202012Validator
from llm_sim.app import create_app as create_sim
from rex_shared.events import Usage
from rex_testkit.evaluator.memory_store import InMemoryStore


@pytest.fixture
def sim_app() -> FastAPI:
    """A fresh simulator (empty prompt cache) served in-process."""
    return create_sim()


def _http(app: FastAPI) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://sim")


@pytest.fixture
async def sim_clients(sim_app: FastAPI) -> AsyncIterator[dict[str, LlmClient]]:
    """The real SDK adapters talking to the in-process simulator, without SDK retries."""
    clients: dict[str, LlmClient] = {
        "openai": OpenAiChat(
            openai.AsyncOpenAI(
                base_url="http://sim/v1", api_key="k", max_retries=0, http_client=_http(sim_app)
            )
        ),
        "anthropic": AnthropicMessages(
            anthropic.AsyncAnthropic(
                base_url="http://sim", api_key="k", max_retries=0, http_client=_http(sim_app)
            )
        ),
    }
    yield clients
    for client in clients.values():
        await client.close()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def org() -> str:
    """A fresh organization per test, so tests never see each other's data."""
    return f"org-{secrets.token_hex(6)}"


CONTEXT = (
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was designed by "
    "the engineering company of Gustave Eiffel and completed in 1889 for the World's Fair."
)


@pytest.fixture
def rows() -> list[dict[str, object]]:
    """Three rows: supported, half supported, unsupported by their context."""
    return [
        {
            "question": "What is the Eiffel Tower?",
            "contexts": [CONTEXT],
            "answer": "The Eiffel Tower is a wrought-iron lattice tower in Paris.",
        },
        {
            "question": "When was it completed?",
            "contexts": [CONTEXT],
            "answer": "The tower was completed in 1889. Bananas grow quickly underwater.",
        },
        {
            "question": "Who designed it?",
            "contexts": [CONTEXT],
            "answer": "Leonardo painted sunflowers beside volcanic glaciers.",
        },
    ]


class FakeQuoter:
    """Prices like a ledger with $1/MTok input and $2/MTok output; counts the requests."""

    def __init__(self) -> None:
        self.requests: list[Any] = []

    async def estimate(
        self, *, org_id: str, user_id: str, provider: str, model: str, usage: Usage
    ) -> Quote:
        self.requests.append((org_id, provider, model, usage))
        total = (Decimal(usage.input_tokens) + 2 * Decimal(usage.output_tokens)) / 1_000_000
        return Quote(total, "fake-price")


class FakeBudget:
    """Reserves up to `limit` per org (hard) and warns past `soft`; settles on request."""

    def __init__(self, limit: Decimal = Decimal(100), soft: Decimal = Decimal(50)) -> None:
        self.limit, self.soft = limit, soft
        self.held: dict[str, Decimal] = {}
        self.settled: list[str] = []

    async def reserve(
        self,
        *,
        org_id: str,
        user_id: str,
        project_id: str,
        estimated_cost: Decimal,
        evaluation_id: UUID,
    ) -> Reservation:
        if estimated_cost > self.limit:
            raise Refused(
                409,
                {
                    "code": "BUDGET_EXCEEDED",
                    "message": "over",
                    "details": {
                        "budget_id": "b1",
                        "limit_amount": str(self.limit),
                        "requested": str(estimated_cost),
                    },
                },
            )
        rid = f"res-{evaluation_id}"
        self.held[rid] = estimated_cost
        warnings = (
            [{"budget_id": "b1", "message": "over the soft limit"}]
            if estimated_cost > self.soft
            else []
        )
        return Reservation(rid, estimated_cost, warnings)

    async def settle(self, *, org_id: str, user_id: str, reservation_id: str) -> None:
        self.settled.append(reservation_id)


@pytest.fixture
def quoter() -> FakeQuoter:
    return FakeQuoter()


@pytest.fixture
def budget() -> FakeBudget:
    return FakeBudget()


@pytest.fixture
def gates(quoter: FakeQuoter, budget: FakeBudget) -> Gatekeeping:
    """Real predictions priced by the fake ledger, reserved with the fake budget."""

    async def history(model: str) -> dict[Any, Decimal]:
        return {}

    return Gatekeeping(estimator(quoter, history, Decimal("1.1")), budget)


ReplyCheck = Callable[[httpx.Response], Awaitable[None]]


def _reply_schema(spec: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The JSON schema the document declares for this reply ({} when none)."""
    templates = sorted(spec["paths"], key=lambda t: t.count("{"))  # literal segments first
    for template in templates:
        operation = spec["paths"][template].get(method.lower())
        if operation and re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path):
            reply = operation["responses"].get(str(status), {})
            schema: dict[str, Any] = reply.get("content", {}).get("application/json", {})
            return schema.get("schema") or {}
    return {}


@pytest.fixture
def documented_replies() -> Callable[[FastAPI], ReplyCheck]:
    """An httpx response hook for `app`: every 2xx JSON reply under /api/v1 matches the schema
    the app's OpenAPI document declares for it (no unknown field, money as strings)."""

    def hook(app: FastAPI) -> ReplyCheck:
        spec = app.openapi()

        async def check(response: httpx.Response) -> None:
            request, status = response.request, response.status_code
            json_reply = response.headers.get("content-type", "").startswith("application/json")
            if not (200 <= status < 300 and json_reply and request.url.path.startswith("/api/v1")):
                return
            schema = _reply_schema(spec, request.method, request.url.path, status)
            assert "$ref" in schema, f"undocumented: {request.method} {request.url.path}"
            validator = Draft202012Validator(
                {**schema, "components": spec["components"]},
                format_checker=Draft202012Validator.FORMAT_CHECKER,
            )
            validator.validate(json.loads(await response.aread()))

        return check

    return hook
