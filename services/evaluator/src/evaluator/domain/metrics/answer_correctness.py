"""Answer correctness (Ragas): factual agreement of the answer with the ground truth.

Step 1: the judge lists the statements of the answer and of the ground truth. Step 2: it
sorts them into TP (answer statements the ground truth supports), FP (answer statements it
does not) and FN (ground-truth statements the answer misses). Factual F1 = TP / (TP +
(FP + FN) / 2). Score = 0.75 x F1 + 0.25 x similarity(answer, ground truth), Ragas' default
weights; the similarity is the cosine of stemmed content-word counts (no embeddings offline,
see answer_relevancy).
"""

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from evaluator.domain.judge_json import parse_as
from evaluator.domain.metrics import prompts
from evaluator.domain.metrics.common import REASON, decimal_score, reply_tokens
from evaluator.domain.model import JudgePrompt, MetricOutcome, Row
from evaluator.domain.text import overlap_similarity, sentences

NAME = "answer_correctness"
WEIGHTS = (Decimal("0.75"), Decimal("0.25"))  # factual F1, similarity


class Statements(BaseModel):
    answer_statements: list[str]
    reference_statements: list[str]


class Item(BaseModel):
    statement: str = ""
    reason: str = ""


class Classified(BaseModel):
    tp: list[Item] = Field(alias="TP")
    fp: list[Item] = Field(alias="FP")
    fn: list[Item] = Field(alias="FN")


def parse_statements(text: str) -> dict[str, Any]:
    reply = parse_as(text, Statements)
    return {
        "answer_statements": [s.strip() for s in reply.answer_statements if s.strip()],
        "reference_statements": [s.strip() for s in reply.reference_statements if s.strip()],
    }


def parse_classified(text: str) -> dict[str, Any]:
    reply = parse_as(text, Classified)
    return {k: [i.model_dump() for i in getattr(reply, k.lower())] for k in ("TP", "FP", "FN")}


def statements_prompt(row: Row) -> JudgePrompt:
    user = (
        f"<question>{row.question}</question>\n<answer>{row.answer}</answer>\n"
        f"<reference>{row.reference}</reference>"
    )
    expected = reply_tokens(
        {
            "answer_statements": sentences(row.answer),
            "reference_statements": sentences(row.reference),
        }
    )
    return JudgePrompt(
        "statements",
        prompts.ANSWER_CORRECTNESS_STATEMENTS,
        user,
        parse_statements,
        expected_output=expected,
    )


def classify_prompt(row: Row, answer: list[str], reference: list[str]) -> JudgePrompt:
    user = (
        f"<question>{row.question}</question>\n"
        f"<answer_statements>{json.dumps(answer, ensure_ascii=False)}</answer_statements>\n"
        f"<reference_statements>{json.dumps(reference, ensure_ascii=False)}"
        "</reference_statements>"
    )
    # Every answer statement lands in TP or FP; typically about half the reference is missed.
    missed = reference[: (len(reference) + 1) // 2]
    items = [{"statement": s, "reason": REASON} for s in answer + missed]
    expected = reply_tokens({"TP": items, "FP": [], "FN": []})
    return JudgePrompt(
        "classify",
        prompts.ANSWER_CORRECTNESS_CLASSIFY,
        user,
        parse_classified,
        expected_output=expected,
    )


def factual_f1(tp: int, fp: int, fn: int) -> Decimal:
    """TP / (TP + (FP + FN) / 2); 0 when nothing was true."""
    if tp == 0:
        return Decimal(0)
    return Decimal(tp) / (Decimal(tp) + Decimal(fp + fn) / 2)


def score(row: Row, classified: Mapping[str, list[Any]]) -> MetricOutcome:
    """Weighted factual F1 and answer/ground-truth similarity."""
    tp, fp, fn = (len(classified[k]) for k in ("TP", "FP", "FN"))
    f1 = factual_f1(tp, fp, fn)
    similarity = decimal_score(overlap_similarity(row.answer, row.reference))
    value = WEIGHTS[0] * f1 + WEIGHTS[1] * similarity
    reasoning = {
        **classified,
        "factual_f1": str(f1.quantize(Decimal("0.000001"))),
        "similarity": str(similarity),
        "weights": [str(w) for w in WEIGHTS],
    }
    return MetricOutcome("succeeded", value, reasoning)


class AnswerCorrectness:
    """The answer correctness metric."""

    name = NAME
    steps: tuple[str, ...] = ("statements", "classify")

    def missing_fields(self, row: Row) -> list[str]:
        missing = [] if row.answer.strip() else ["answer"]
        return missing + ([] if row.reference else ["ground_truth"])

    def advance(
        self, row: Row, outputs: Sequence[Mapping[str, Any]]
    ) -> JudgePrompt | MetricOutcome:
        if not outputs:
            return statements_prompt(row)
        answer = list(outputs[0]["answer_statements"])
        reference = list(outputs[0]["reference_statements"])
        if not answer and not reference:
            return MetricOutcome("succeeded", None, {"reason": "no statements on either side"})
        if len(outputs) == 1:
            return classify_prompt(row, answer, reference)
        return score(row, outputs[1])

    def forecast(self, row: Row) -> list[JudgePrompt]:
        answer, reference = sentences(row.answer), sentences(row.reference)
        return [statements_prompt(row), classify_prompt(row, answer, reference)]
