"""Every judge call carries REX's call and evaluation ids, so the provider's count of what it
served (the simulator's `GET /_sim/served`) can be matched call by call with the events."""

from typing import Any
from uuid import uuid4

import httpx2
import pytest
from evaluator.adapters.retry import Retrier
from evaluator.domain.backoff import RetryPolicy
from evaluator.ports import ChatRequest, LlmClient
from fastapi import FastAPI
from rex_tracking import CallContext


async def _served(app: FastAPI, evaluation_id: str) -> dict[str, Any]:
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as client:
        body: dict[str, Any] = (
            await client.get("/_sim/served", params={"evaluation_id": evaluation_id})
        ).json()
        return body


async def _no_wait(_: float) -> None:
    return None


def _client(clients: dict[str, LlmClient], provider: str, stream: bool) -> LlmClient:
    inner = clients[provider]
    retrier = Retrier(RetryPolicy(max_retries=3), sleep=_no_wait)
    return type(inner)(inner._sdk, stream=stream, retrier=retrier)  # type: ignore[call-arg,attr-defined]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "o4-mini"), ("anthropic", "claude-sonnet-4-6")]
)
async def test_the_provider_counts_each_call_under_its_ids_with_the_events_usage(
    sim_clients: dict[str, LlmClient], sim_app: FastAPI, provider: str, model: str, stream: bool
) -> None:
    client = _client(sim_clients, provider, stream)
    evaluation_id = uuid4()
    ctxs = [CallContext(uuid4(), "org", "p", "u", evaluation_id) for _ in range(2)]
    # The first call is refused twice, then answered: one call, two faults, one bill.
    flaky = await client.complete(ChatRequest(model, "s", "a [sim:fail:503:2]"), ctxs[0])
    plain = await client.complete(ChatRequest(model, "s", "b"), ctxs[1])
    served = await _served(sim_app, str(evaluation_id))
    assert served["faulted"] == {"calls": 2, "by_status": {"503": 2}}
    billable = [c for c in served["calls"] if c["billable"]]
    assert [c["call_id"] for c in served["calls"]] == [str(ctxs[0].call_id)] * 3 + [
        str(ctxs[1].call_id)
    ]
    for reply, call in zip((flaky, plain), billable, strict=True):
        usage = reply.event.usage
        assert reply.event.status == "succeeded" and call["streamed"] is stream
        assert (call["provider"], call["model"]) == (reply.event.provider, reply.event.model)
        assert call["input_tokens"] == usage.input_tokens > 0
        assert call["cache_read_tokens"] == usage.cache_read_tokens
        assert call["cache_write_tokens"] == usage.cache_write_tokens
        assert call["output_tokens"] == usage.output_tokens > 0
        assert call["reasoning_tokens"] == usage.reasoning_tokens


async def test_a_call_outside_an_evaluation_carries_its_call_id_only(
    sim_clients: dict[str, LlmClient], sim_app: FastAPI
) -> None:
    ctx = CallContext(uuid4(), "org", "p", "u")
    await sim_clients["openai"].complete(ChatRequest("gpt-4o-mini", "s", "u"), ctx)
    transport = httpx2.ASGITransport(app=sim_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sim") as client:
        calls = (await client.get("/_sim/served")).json()["calls"]
    assert [(c["call_id"], c["evaluation_id"]) for c in calls] == [(str(ctx.call_id), None)]
