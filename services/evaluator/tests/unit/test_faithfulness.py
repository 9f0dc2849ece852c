"""Faithfulness walks claims -> verdicts and scores on fixed judge outputs."""

import json
from decimal import Decimal

import pytest
from evaluator.domain.judge_json import MalformedJudgeOutput
from evaluator.domain.metrics.faithfulness import Faithfulness, score
from evaluator.domain.model import JudgePrompt, MetricOutcome, Row

ROW = Row(0, "Where is Paris?", ("Paris is the capital of France.",), "Paris is in France.")
METRIC = Faithfulness()


def _verdicts(*values: int) -> list[dict[str, object]]:
    return [{"claim": f"c{i}", "reason": "r", "verdict": v} for i, v in enumerate(values)]


def test_the_first_step_asks_for_claims_of_the_answer() -> None:
    step = METRIC.advance(ROW, [])
    assert isinstance(step, JudgePrompt) and step.step == "claims"
    assert "[rex:faithfulness:claims]" in step.system
    assert "<answer>Paris is in France.</answer>" in step.user


def test_the_second_step_asks_for_verdicts_against_the_contexts() -> None:
    step = METRIC.advance(ROW, [{"claims": ["Paris is in France."]}])
    assert isinstance(step, JudgePrompt) and step.step == "verdicts"
    assert "[rex:faithfulness:verdicts]" in step.system
    assert "<context>Paris is the capital of France.</context>" in step.user
    assert '<claims>["Paris is in France."]</claims>' in step.user


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ((1, 1), Decimal(1)),
        ((1, 0), Decimal("0.5")),
        ((0, 0, 0), Decimal(0)),
        ((1, 1, 0), Decimal(2) / Decimal(3)),
    ],
)
def test_score_is_supported_claims_over_all_claims(
    verdicts: tuple[int, ...], expected: Decimal
) -> None:
    claims = [f"c{i}" for i in range(len(verdicts))]
    outcome = METRIC.advance(ROW, [{"claims": claims}, {"verdicts": _verdicts(*verdicts)}])
    assert isinstance(outcome, MetricOutcome)
    assert outcome.status == "succeeded" and outcome.score == expected
    assert outcome.reasoning["supported"] == sum(verdicts)


def test_an_answer_without_claims_has_no_score_and_says_why() -> None:
    outcome = METRIC.advance(ROW, [{"claims": []}])
    assert isinstance(outcome, MetricOutcome)
    assert outcome.status == "succeeded" and outcome.score is None
    assert outcome.reasoning["reason"] == "the answer makes no claims"


def test_claims_are_parsed_from_json_inside_prose_and_fences() -> None:
    step = METRIC.advance(ROW, [])
    assert isinstance(step, JudgePrompt)
    reply = 'Here you go:\n```json\n{"claims": ["A is B.", "  "]}\n```'
    assert step.parse(reply) == {"claims": ["A is B."]}


@pytest.mark.parametrize("verdict", [1, True, "yes", "1"], ids=["int", "bool", "yes", "string"])
def test_verdicts_accept_the_usual_spellings_of_yes(verdict: object) -> None:
    step = METRIC.advance(ROW, [{"claims": ["x"]}])
    assert isinstance(step, JudgePrompt)
    parsed = step.parse(json.dumps({"verdicts": [{"claim": "x", "verdict": verdict}]}))
    assert parsed["verdicts"][0]["verdict"] == 1


@pytest.mark.parametrize(
    "reply",
    [
        '{"verdicts": [{"claim": "x", "verdict": 1}, {"claim": "y", "verdict": 0}]}',
        '{"verdicts": [{"claim": "x", "verdict": 2}]}',
        '{"verdicts": [{"claim": "x"}]}',
        '{"claims": ["x"]}',
        '{"verdicts": [{"claim": "x", "verdict": 1}',
    ],
    ids=["too many", "not binary", "missing verdict", "wrong key", "cut off"],
)
def test_bad_verdict_replies_are_malformed(reply: str) -> None:
    step = METRIC.advance(ROW, [{"claims": ["x"]}])
    assert isinstance(step, JudgePrompt)
    with pytest.raises(MalformedJudgeOutput):
        step.parse(reply)


@pytest.mark.parametrize(
    ("row", "missing"),
    [
        (ROW, []),
        (Row(0, "q", (), "a"), ["contexts"]),
        (Row(0, "q", ("  ",), " "), ["answer", "contexts"]),
    ],
)
def test_missing_fields(row: Row, missing: list[str]) -> None:
    assert METRIC.missing_fields(row) == missing


def test_score_keeps_the_verdicts_as_reasoning() -> None:
    outcome = score(["a"], _verdicts(1))
    assert outcome.reasoning["verdicts"][0]["reason"] == "r"
    assert outcome.reasoning["total"] == 1
