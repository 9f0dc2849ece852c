"""Faithfulness (Ragas, Es et al. 2023): the share of the answer's claims the contexts support.

Step 1 asks the judge for the answer's standalone claims, step 2 for a verdict per claim
against the contexts. Score = supported claims / claims; an answer with no claims has no score.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, field_validator

from evaluator.domain.judge_json import MalformedJudgeOutput, parse_as
from evaluator.domain.metrics import prompts
from evaluator.domain.model import JudgePrompt, MetricOutcome, Row

NAME = "faithfulness"


class Claims(BaseModel):
    claims: list[str]


class Verdict(BaseModel):
    claim: str = ""
    reason: str = ""
    verdict: int

    @field_validator("verdict", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        # Judges answer 1/0, true/false or "yes"/"no"; all mean the same.
        if isinstance(value, str):
            return {"yes": 1, "no": 0, "1": 1, "0": 0}.get(value.strip().lower(), value)
        return int(value) if isinstance(value, bool) else value

    @field_validator("verdict")
    @classmethod
    def _binary(cls, value: int) -> int:
        if value not in (0, 1):
            raise ValueError("verdict must be 0 or 1")
        return value


class Verdicts(BaseModel):
    verdicts: list[Verdict]


def parse_claims(text: str) -> dict[str, Any]:
    """Step 1 output: the non-empty claims."""
    claims = [c.strip() for c in parse_as(text, Claims).claims if c.strip()]
    return {"claims": claims}


def verdict_parser(expected: int) -> Callable[[str], dict[str, Any]]:
    """Step 2 parser: one verdict per claim, or the reply is malformed."""

    def parse(text: str) -> dict[str, Any]:
        verdicts = parse_as(text, Verdicts).verdicts
        if len(verdicts) != expected:
            raise MalformedJudgeOutput(f"{len(verdicts)} verdicts for {expected} claims")
        return {"verdicts": [v.model_dump() for v in verdicts]}

    return parse


def claims_prompt(row: Row) -> JudgePrompt:
    user = f"<question>{row.question}</question>\n<answer>{row.answer}</answer>"
    return JudgePrompt("claims", prompts.FAITHFULNESS_CLAIMS, user, parse_claims)


def verdicts_prompt(row: Row, claims: list[str]) -> JudgePrompt:
    contexts = "\n".join(f"<context>{c}</context>" for c in row.contexts)
    user = f"{contexts}\n<claims>{json.dumps(claims, ensure_ascii=False)}</claims>"
    return JudgePrompt("verdicts", prompts.FAITHFULNESS_VERDICTS, user, verdict_parser(len(claims)))


def score(claims: list[str], verdicts: list[Mapping[str, Any]]) -> MetricOutcome:
    """Supported claims over all claims, with the verdicts kept as reasoning."""
    supported = sum(1 for v in verdicts if v["verdict"] == 1)
    reasoning = {
        "claims": claims,
        "verdicts": verdicts,
        "supported": supported,
        "total": len(claims),
    }
    return MetricOutcome("succeeded", Decimal(supported) / Decimal(len(claims)), reasoning)


class Faithfulness:
    """The faithfulness metric."""

    name = NAME

    def missing_fields(self, row: Row) -> list[str]:
        missing = [] if row.answer.strip() else ["answer"]
        return missing + ([] if any(c.strip() for c in row.contexts) else ["contexts"])

    def advance(
        self, row: Row, outputs: Sequence[Mapping[str, Any]]
    ) -> JudgePrompt | MetricOutcome:
        if not outputs:
            return claims_prompt(row)
        claims: list[str] = list(outputs[0]["claims"])
        if not claims:
            return MetricOutcome(
                "succeeded", None, {"claims": [], "reason": "the answer makes no claims"}
            )
        if len(outputs) == 1:
            return verdicts_prompt(row, claims)
        return score(claims, list(outputs[1]["verdicts"]))
