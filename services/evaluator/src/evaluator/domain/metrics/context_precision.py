"""Context precision (Ragas): are the useful contexts ranked first?

The judge gives one verdict per retrieved context (useful for the reference answer: 1, else
0); score = sum over ranks k of precision@k x v_k, divided by the number of useful contexts
(0 when none is useful). The reference is the ground truth when the row has one, else the
answer (Ragas' "without reference" variant).
"""

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from evaluator.domain.judge_json import MalformedJudgeOutput, parse_as
from evaluator.domain.metrics import prompts
from evaluator.domain.metrics.common import REASON, Binary, reply_tokens, tagged_contexts
from evaluator.domain.model import JudgePrompt, MetricOutcome, Row

NAME = "context_precision"


class Verdict(BaseModel):
    reason: str = ""
    verdict: Binary


class Verdicts(BaseModel):
    verdicts: list[Verdict]


def verdict_parser(expected: int) -> Callable[[str], dict[str, Any]]:
    """One verdict per context, or the reply is malformed."""

    def parse(text: str) -> dict[str, Any]:
        verdicts = parse_as(text, Verdicts).verdicts
        if len(verdicts) != expected:
            raise MalformedJudgeOutput(f"{len(verdicts)} verdicts for {expected} contexts")
        return {"verdicts": [v.model_dump() for v in verdicts]}

    return parse


def verdicts_prompt(row: Row) -> JudgePrompt:
    reference = row.reference or row.answer
    user = (
        f"<question>{row.question}</question>\n<reference>{reference}</reference>\n"
        f"{tagged_contexts(row.contexts)}"
    )
    expected = reply_tokens({"verdicts": [{"reason": REASON, "verdict": 1} for _ in row.contexts]})
    return JudgePrompt(
        "verdicts",
        prompts.CONTEXT_PRECISION_VERDICTS,
        user,
        verdict_parser(len(row.contexts)),
        expected_output=expected,
    )


def average_precision(verdicts: Sequence[int]) -> Decimal:
    """Mean of precision@k over the ranks k holding a useful context (0 when none)."""
    useful = hits = 0
    total = Decimal(0)
    for k, verdict in enumerate(verdicts, start=1):
        if verdict:
            hits += 1
            total += Decimal(hits) / Decimal(k)
            useful += 1
    return total / useful if useful else Decimal(0)


class ContextPrecision:
    """The context precision metric."""

    name = NAME
    steps: tuple[str, ...] = ("verdicts",)

    def missing_fields(self, row: Row) -> list[str]:
        missing = [] if row.contexts and all(c.strip() for c in row.contexts) else ["contexts"]
        return missing + ([] if row.reference or row.answer.strip() else ["ground_truth"])

    def advance(
        self, row: Row, outputs: Sequence[Mapping[str, Any]]
    ) -> JudgePrompt | MetricOutcome:
        if not outputs:
            return verdicts_prompt(row)
        verdicts = list(outputs[0]["verdicts"])
        reasoning = {
            "verdicts": verdicts,
            "reference": "ground_truth" if row.reference else "answer",
        }
        value = average_precision([int(v["verdict"]) for v in verdicts])
        return MetricOutcome("succeeded", value, reasoning)

    def forecast(self, row: Row) -> list[JudgePrompt]:
        return [verdicts_prompt(row)]
