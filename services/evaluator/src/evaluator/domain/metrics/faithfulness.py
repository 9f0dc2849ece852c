"""Faithfulness (Ragas, Es et al. 2023): the share of the answer's claims the contexts support.

Step 1 asks the judge for the answer's standalone claims, step 2 for a verdict per claim
against the contexts. Score = supported claims / claims; an answer with no claims has no score.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from evaluator.domain.judge_json import MalformedJudgeOutput, parse_as
from evaluator.domain.metrics import prompts
from evaluator.domain.metrics.common import REASON, Binary, ratio, reply_tokens, tagged_contexts
from evaluator.domain.model import JudgePrompt, MetricOutcome, Row
from evaluator.domain.text import sentences

NAME = "faithfulness"


class Claims(BaseModel):
    claims: list[str]


class Verdict(BaseModel):
    claim: str = ""
    reason: str = ""
    verdict: Binary


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
    expected = reply_tokens({"claims": sentences(row.answer)})
    return JudgePrompt(
        "claims", prompts.FAITHFULNESS_CLAIMS, user, parse_claims, expected_output=expected
    )


def verdicts_prompt(row: Row, claims: list[str]) -> JudgePrompt:
    listed = json.dumps(claims, ensure_ascii=False)
    user = f"{tagged_contexts(row.contexts)}\n<claims>{listed}</claims>"
    expected = reply_tokens(
        {"verdicts": [{"claim": c, "reason": REASON, "verdict": 1} for c in claims]}
    )
    return JudgePrompt(
        "verdicts",
        prompts.FAITHFULNESS_VERDICTS,
        user,
        verdict_parser(len(claims)),
        expected_output=expected,
    )


def score(claims: list[str], verdicts: list[Mapping[str, Any]]) -> MetricOutcome:
    """Supported claims over all claims, with the verdicts kept as reasoning."""
    supported = sum(1 for v in verdicts if v["verdict"] == 1)
    reasoning = {
        "claims": claims,
        "verdicts": verdicts,
        "supported": supported,
        "total": len(claims),
    }
    return MetricOutcome("succeeded", ratio(supported, len(claims)), reasoning)


class Faithfulness:
    """The faithfulness metric."""

    name = NAME
    steps: tuple[str, ...] = ("claims", "verdicts")

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

    def forecast(self, row: Row) -> list[JudgePrompt]:
        """The calls a run will likely make: claims ~ the answer's sentences."""
        claims = sentences(row.answer)
        return [claims_prompt(row)] + ([verdicts_prompt(row, claims)] if claims else [])
