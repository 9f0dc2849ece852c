"""The simulator as a real HTTP server, with delays and a global failure rate."""

import time

import openai
import pytest
from llm_sim.config import SimSettings
from llm_sim.server import running


async def test_a_real_server_answers_the_sdk_and_honours_delays() -> None:
    with running() as base_url:
        client = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="sim", max_retries=0)
        started = time.perf_counter()
        reply = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Hi."}],
            extra_headers={"x-sim-delay-ms": "200"},
        )
        await client.close()
    assert time.perf_counter() - started >= 0.2
    assert reply.usage and reply.usage.prompt_tokens > 0


async def test_a_fail_rate_of_one_fails_every_request() -> None:
    with running(SimSettings(fail_rate=1.0, fail_status=503)) as base_url:
        client = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="sim", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
            )
        await client.close()
    assert caught.value.status_code == 503
