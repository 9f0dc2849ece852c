"""Context recall (Ragas): how much of the ground truth the retrieved contexts support.

The judge splits the ground truth into sentences and attributes each to the contexts (1) or
not (0); score = attributed / sentences. Needs a ground truth.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from evaluator.domain.judge_json import parse_as
from evaluator.domain.metrics import prompts
from evaluator.domain.metrics.common import REASON, Binary, ratio, reply_tokens, tagged_contexts
from evaluator.domain.model import JudgePrompt, MetricOutcome, Row
from evaluator.domain.text import sentences

NAME = "context_recall"


class Attribution(BaseModel):
    statement: str = ""
    reason: str = ""
    attributed: Binary


class Attributions(BaseModel):
    attributions: list[Attribution]


def parse_attributions(text: str) -> dict[str, Any]:
    """One attribution per ground-truth sentence."""
    return {"attributions": [a.model_dump() for a in parse_as(text, Attributions).attributions]}


def attributions_prompt(row: Row) -> JudgePrompt:
    user = (
        f"<question>{row.question}</question>\n{tagged_contexts(row.contexts)}\n"
        f"<reference>{row.reference}</reference>"
    )
    expected = reply_tokens(
        {
            "attributions": [
                {"statement": s, "reason": REASON, "attributed": 1}
                for s in sentences(row.reference)
            ]
        }
    )
    return JudgePrompt(
        "attributions",
        prompts.CONTEXT_RECALL_ATTRIBUTIONS,
        user,
        parse_attributions,
        expected_output=expected,
    )


def score(attributions: list[Mapping[str, Any]]) -> MetricOutcome:
    """Attributed sentences over all sentences; no sentence -> no score."""
    attributed = sum(1 for a in attributions if a["attributed"] == 1)
    reasoning = {"attributions": attributions, "attributed": attributed, "total": len(attributions)}
    if not attributions:
        return MetricOutcome("succeeded", None, {**reasoning, "reason": "no reference sentence"})
    return MetricOutcome("succeeded", ratio(attributed, len(attributions)), reasoning)


class ContextRecall:
    """The context recall metric."""

    name = NAME
    steps: tuple[str, ...] = ("attributions",)

    def missing_fields(self, row: Row) -> list[str]:
        missing = [] if any(c.strip() for c in row.contexts) else ["contexts"]
        return missing + ([] if row.reference else ["ground_truth"])

    def advance(
        self, row: Row, outputs: Sequence[Mapping[str, Any]]
    ) -> JudgePrompt | MetricOutcome:
        if not outputs:
            return attributions_prompt(row)
        return score(list(outputs[0]["attributions"]))

    def forecast(self, row: Row) -> list[JudgePrompt]:
        return [attributions_prompt(row)]
