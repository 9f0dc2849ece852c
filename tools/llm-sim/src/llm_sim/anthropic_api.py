"""`POST /v1/messages` in the Anthropic wire format; cache use driven by `cache_control` blocks."""

import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from llm_sim import models, style, tokens
from llm_sim.cache import Breakpoint, anthropic_cache_use
from llm_sim.faults import remember_key
from llm_sim.served import Tokens, served_call
from llm_sim.streams import anthropic_events
from llm_sim.wire import (
    delay_or_fault,
    judge_reply,
    new_id,
    read_json,
    state_of,
)

router = APIRouter()
REQUEST_ID_HEADER = "request-id"
_SERVED = ("anthropic", "messages")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


@dataclass
class MessagesPrompt:
    """Token ids in cache order (tools, system, messages) with the `cache_control` breakpoints."""

    ids: list[int] = field(default_factory=list)
    breakpoints: list[Breakpoint] = field(default_factory=list)
    system: str = ""
    user: str = ""

    def add(self, text: str, cache_control: Any = None) -> None:
        self.ids += tokens.claude_encode(text)
        if isinstance(cache_control, dict):
            ttl = "1h" if cache_control.get("ttl") == "1h" else "5m"
            self.breakpoints.append(Breakpoint(len(self.ids), ttl))

    @property
    def text(self) -> str:
        return f"{self.system}\n{self.user}"


def error(status: int, message: str, headers: dict[str, str]) -> Response:
    """An error in Anthropic's shape."""
    kind = _ERROR_TYPES.get(status, "api_error")
    body = {"type": "error", "error": {"type": kind, "message": message}}
    headers = {**headers, REQUEST_ID_HEADER: new_id("req_")}
    return JSONResponse(body, status_code=status, headers=headers)


def _cache_control(item: Any) -> Any:
    return item.get("cache_control") if isinstance(item, dict) else None


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _block_text(block: dict[str, Any]) -> str:
    return str(block.get("text") or block.get("content") or "")


def parse_prompt(body: dict[str, Any]) -> MessagesPrompt:
    """The prompt in Anthropic's cache-prefix order: tools, then system, then messages."""
    prompt = MessagesPrompt()
    for tool in body.get("tools") or []:
        prompt.add(json.dumps(tool, sort_keys=True), _cache_control(tool))
    system_blocks = _blocks(body.get("system") or [])
    for block in system_blocks:
        prompt.add(_block_text(block), block.get("cache_control"))
    prompt.system = "\n".join(_block_text(b) for b in system_blocks)
    for message in body["messages"]:
        role = "Human" if message.get("role") == "user" else "Assistant"
        prompt.add(f"\n\n{role}: ")
        blocks = _blocks(message.get("content"))
        for block in blocks:
            prompt.add(_block_text(block), block.get("cache_control"))
        if role == "Human":
            prompt.user = "\n".join(_block_text(b) for b in blocks)
    return prompt


@router.post("/v1/messages")
async def messages(request: Request) -> Response:
    body = await read_json(request)
    if body is None or not isinstance(body.get("messages"), list) or not body.get("model"):
        return error(400, "body must be JSON with 'model', 'messages' and 'max_tokens'", {})
    if not isinstance(body.get("max_tokens"), int):
        return error(400, "max_tokens: Field required", {})
    key = request.headers.get("x-api-key") or request.headers.get("authorization")
    if not key:
        return error(401, "x-api-key header is required", {})
    remember_key(state_of(request), key.removeprefix("Bearer ").strip())
    prompt = parse_prompt(body)
    failed = await delay_or_fault(request, prompt.text, error)
    served = state_of(request).served
    if failed is not None:
        model = models.dated(str(body["model"]))
        served.add(served_call(request, body, _SERVED, model, status=failed.status_code))
        return failed
    message = _complete(request, body, prompt)
    billed = served_tokens(message["usage"])
    served.add(served_call(request, body, _SERVED, message["model"], tokens=billed))
    headers = {REQUEST_ID_HEADER: new_id("req_")}
    if body.get("stream"):
        events = anthropic_events(message)
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    return JSONResponse(message, headers=headers)


def _complete(request: Request, body: dict[str, Any], prompt: MessagesPrompt) -> dict[str, Any]:
    model = str(body["model"])
    cache = anthropic_cache_use(
        state_of(request).cache,
        model,
        prompt.ids,
        prompt.breakpoints,
        models.anthropic_min_cacheable(model),
        time.time(),
    )
    thinking = _thinking_tokens(body, len(prompt.ids))
    reply = style.styled(model, judge_reply(request, prompt.system, prompt.user))
    text, text_tokens, cut = tokens.claude_truncate(reply, max(body["max_tokens"] - thinking, 0))
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if thinking:
        content.insert(
            0, {"type": "thinking", "thinking": "(simulated reasoning)", "signature": "rexsim"}
        )
    written = cache.write_5m + cache.write_1h
    usage = {
        "input_tokens": len(prompt.ids) - cache.read - written,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cache.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.write_5m,
            "ephemeral_1h_input_tokens": cache.write_1h,
        },
        "output_tokens": text_tokens + thinking,
        "service_tier": "standard",
    }
    if thinking:
        usage["output_tokens_details"] = {"thinking_tokens": thinking}
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": models.dated(model),
        "content": content,
        "stop_reason": "max_tokens" if cut else "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


def _thinking_tokens(body: dict[str, Any], prompt_tokens: int) -> int:
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return 0
    budget = int(thinking.get("budget_tokens") or 0)
    return min(budget, 64 * (1 + prompt_tokens // 256))


def served_tokens(usage: dict[str, Any]) -> Tokens:
    """What the call is billed for: `input_tokens` excludes cache reads and writes here."""
    read, written = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
    return Tokens(
        input_tokens=usage["input_tokens"] + read + written,
        cache_read_tokens=read,
        cache_write_tokens=written,
        cache_write_1h_tokens=usage["cache_creation"]["ephemeral_1h_input_tokens"],
        output_tokens=usage["output_tokens"],
        reasoning_tokens=(usage.get("output_tokens_details") or {}).get("thinking_tokens", 0),
    )
