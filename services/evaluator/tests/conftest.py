"""Fixtures shared by the evaluator's test tiers: the simulator, SDK clients on it, fakes."""

import secrets
from collections.abc import AsyncIterator

import anthropic
import httpx2
import openai
import pytest
from evaluator.adapters.llm_anthropic import AnthropicMessages
from evaluator.adapters.llm_openai import OpenAiChat
from evaluator.adapters.memory_store import InMemoryStore
from evaluator.ports import LlmClient
from fastapi import FastAPI
from llm_sim.app import create_app as create_sim


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
