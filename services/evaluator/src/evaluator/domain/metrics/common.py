"""What several metrics share: 0/1 verdicts read leniently, reply-size estimates, scores."""

import json
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from evaluator.domain import tokens

# A typical one-sentence reason, for estimating the size of a judge's reply before it exists.
REASON = "7 of 9 content words of the statement occur in the context"


def _lenient(value: Any) -> Any:
    # Judges answer 1/0, true/false or "yes"/"no"; all mean the same.
    if isinstance(value, str):
        return {"yes": 1, "no": 0, "1": 1, "0": 0}.get(value.strip().lower(), value)
    return int(value) if isinstance(value, bool) else value


def _binary(value: int) -> int:
    if value not in (0, 1):
        raise ValueError("must be 0 or 1")
    return value


Binary = Annotated[int, BeforeValidator(_lenient), AfterValidator(_binary)]
"""A 0/1 judgement."""


def reply_tokens(reply: Any) -> int:
    """Tokens of `reply` serialized as the JSON the judge is asked for."""
    return tokens.count(json.dumps(reply, ensure_ascii=False))


def ratio(part: int, whole: int) -> Decimal:
    """`part / whole` as an exact Decimal score."""
    return Decimal(part) / Decimal(whole)


def decimal_score(value: float) -> Decimal:
    """A float score in [0, 1] as a Decimal with six places."""
    return Decimal(str(round(min(max(value, 0.0), 1.0), 6)))


def tagged_contexts(contexts: tuple[str, ...]) -> str:
    """The contexts, one `<context>` tag each, in rank order."""
    return "\n".join(f"<context>{c}</context>" for c in contexts)
