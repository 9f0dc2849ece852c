"""Reading a judge's JSON answer robustly: code fences, prose around it, wrong shapes."""

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class MalformedJudgeOutput(ValueError):
    """The judge's reply is not the JSON object the prompt asked for."""


def extract_object(text: str) -> dict[str, Any]:
    """The outermost JSON object in `text` (models like to wrap it in prose or fences)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise MalformedJudgeOutput(f"no JSON object in judge reply: {_excerpt(text)}")
    try:
        value = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise MalformedJudgeOutput(f"invalid JSON ({exc.msg}): {_excerpt(text)}") from exc
    if not isinstance(value, dict):
        raise MalformedJudgeOutput("judge reply is not a JSON object")
    return value


def parse_as(text: str, model: type[M]) -> M:
    """The judge's reply validated as `model`, or MalformedJudgeOutput saying why."""
    try:
        return model.model_validate(extract_object(text))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = f"judge reply has the wrong shape: {where}: {first['msg']}"
        raise MalformedJudgeOutput(reason) from exc


def _excerpt(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
