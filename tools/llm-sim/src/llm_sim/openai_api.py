"""`POST /v1/chat/completions` in the OpenAI wire format, usage reported as OpenAI does."""

import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from llm_sim import models, style, tokens
from llm_sim.cache import openai_cached_tokens
from llm_sim.faults import remember_key
from llm_sim.served import Tokens, served_call
from llm_sim.streams import openai_chunks
from llm_sim.wire import (
    delay_or_fault,
    judge_reply,
    new_id,
    read_json,
    state_of,
)

router = APIRouter()
REQUEST_ID_HEADER = "x-request-id"
_SERVED = ("openai", "chat.completions")
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}


@dataclass(frozen=True)
class ChatPrompt:
    """The parts of a chat request the simulator answers from."""

    system: str
    user: str
    ids: list[int]

    @property
    def text(self) -> str:
        return f"{self.system}\n{self.user}"


def error(status: int, message: str, headers: dict[str, str]) -> Response:
    """An error in OpenAI's shape."""
    kind = _ERROR_TYPES.get(status, "server_error")
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    headers = {**headers, REQUEST_ID_HEADER: new_id("req_")}
    return JSONResponse(body, status_code=status, headers=headers)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def parse_prompt(messages: list[dict[str, Any]]) -> ChatPrompt:
    """System text, the last user message, and the prompt's token ids (framed per message)."""
    ids: list[int] = []
    system, user = [], ""
    for message in messages:
        role, text = str(message.get("role", "user")), _text(message.get("content"))
        ids += tokens.encode(f"<|{role}|>{text}<|end|>")
        if role in ("system", "developer"):
            system.append(text)
        elif role == "user":
            user = text
    return ChatPrompt("\n".join(system), user, ids)


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    body = await read_json(request)
    if body is None or not isinstance(body.get("messages"), list) or not body.get("model"):
        return error(400, "body must be JSON with 'model' and 'messages'", {})
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme != "Bearer" or not key.strip():
        return error(401, "missing API key", {})
    remember_key(state_of(request), key.strip())
    prompt = parse_prompt(body["messages"])
    failed = await delay_or_fault(request, prompt.text, error)
    served = state_of(request).served
    if failed is not None:
        model = models.dated(str(body["model"]))
        served.add(served_call(request, body, _SERVED, model, status=failed.status_code))
        return failed
    completion = _complete(request, body, prompt)
    billed = served_tokens(completion["usage"])
    served.add(served_call(request, body, _SERVED, completion["model"], tokens=billed))
    headers = {REQUEST_ID_HEADER: new_id("req_")}
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        stream = openai_chunks(completion, include_usage)
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
    return JSONResponse(completion, headers=headers)


def _complete(request: Request, body: dict[str, Any], prompt: ChatPrompt) -> dict[str, Any]:
    model = str(body["model"])
    prompt_tokens = len(prompt.ids) + tokens.REPLY_PRIMING_TOKENS
    cached = openai_cached_tokens(state_of(request).cache, model, prompt.ids, time.time())
    reasoning = models.reasoning_tokens(model, prompt_tokens)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    visible = None if limit is None else max(int(limit) - reasoning, 0)
    reply = style.styled(model, judge_reply(request, prompt.system, prompt.user))
    text, text_tokens, cut = tokens.truncate(reply, visible)
    usage = _usage(prompt_tokens, cached, text_tokens + reasoning, reasoning)
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": text, "refusal": None},
        "logprobs": None,
        "finish_reason": "length" if cut else "stop",
    }
    tier = body.get("service_tier")
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": models.dated(model),
        "choices": [choice],
        "usage": usage,
        "service_tier": "default" if tier in (None, "auto") else tier,
        "system_fingerprint": "fp_rexsim",
    }


def _usage(prompt: int, cached: int, completion: int, reasoning: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def served_tokens(usage: dict[str, Any]) -> Tokens:
    """What the call is billed for: `prompt_tokens` is all input, cached tokens inside."""
    return Tokens(
        input_tokens=usage["prompt_tokens"],
        cache_read_tokens=usage["prompt_tokens_details"]["cached_tokens"],
        output_tokens=usage["completion_tokens"],
        reasoning_tokens=usage["completion_tokens_details"]["reasoning_tokens"],
    )
