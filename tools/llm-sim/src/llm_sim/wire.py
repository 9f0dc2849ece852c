"""What both wire formats share: reading the body, delays and faults, ids, SSE framing."""

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from llm_sim import judge
from llm_sim.faults import Fault, SimState, delay_ms, fault_for, wants_malformed

ErrorResponder = Callable[[int, str, dict[str, str]], Response]


def state_of(request: Request) -> SimState:
    """The simulator state held by the app."""
    state: SimState = request.app.state.sim
    return state


async def read_json(request: Request) -> dict[str, Any] | None:
    """The request body as a JSON object, or None when it is not one."""
    try:
        body = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


async def delay_or_fault(request: Request, text: str, error: ErrorResponder) -> Response | None:
    """Wait as asked, then return the error response a fault calls for (None: carry on)."""
    state = state_of(request)
    wait = delay_ms(state, request.headers, text)
    if wait:
        await asyncio.sleep(wait / 1000)
    fault = fault_for(state, request.headers, text)
    return None if fault is None else error(fault.status, _message(fault), _headers(fault))


def _message(fault: Fault) -> str:
    if fault.status == 429:
        return "Rate limit reached (simulated)."
    return f"The server had an error while processing your request (simulated {fault.status})."


def _headers(fault: Fault) -> dict[str, str]:
    if fault.retry_after_s is None:
        return {}
    return {"retry-after": str(fault.retry_after_s)}


def new_id(prefix: str) -> str:
    """A fresh provider-style id (`chatcmpl-...`, `msg_...`, `req_...`)."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def sse(data: dict[str, Any], event: str | None = None) -> str:
    """One server-sent event."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n"


def pieces(text: str, size: int = 12) -> list[str]:
    """`text` in small consecutive pieces, as a streamed reply arrives."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def judge_reply(request: Request, system: str, user: str) -> str:
    """The deterministic answer, broken on purpose when the prompt asks for it."""
    reply = judge.answer(system, user)
    broken = judge.is_judge_prompt(system, user) and wants_malformed(
        state_of(request), f"{system}\n{user}"
    )
    return judge.malformed(reply) if broken else reply
