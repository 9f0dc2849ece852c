"""The simulator in-process, with the official SDKs talking to it over an ASGI transport."""

from collections.abc import AsyncIterator

import anthropic
import httpx2
import openai
import pytest
from fastapi import FastAPI
from llm_sim.app import create_app
from llm_sim.config import SimSettings


@pytest.fixture
def sim_app() -> FastAPI:
    return create_app(SimSettings())


def _http(app: FastAPI) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://sim")


@pytest.fixture
async def openai_client(sim_app: FastAPI) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        base_url="http://sim/v1", api_key="sim", max_retries=0, http_client=_http(sim_app)
    )
    yield client
    await client.close()


@pytest.fixture
async def anthropic_client(sim_app: FastAPI) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        base_url="http://sim", api_key="sim", max_retries=0, http_client=_http(sim_app)
    )
    yield client
    await client.close()


@pytest.fixture
def long_text() -> str:
    """About 1,800 tokens: long enough to be cached by either provider."""
    return " ".join(f"Fact number {i} says the river flows north in spring." for i in range(150))
