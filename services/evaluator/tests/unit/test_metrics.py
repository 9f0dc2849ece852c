"""The four Ragas metrics beyond faithfulness, scored on fixed judge outputs."""

import json
from decimal import Decimal

import pytest
from evaluator.domain.judge_json import MalformedJudgeOutput
from evaluator.domain.metrics import METRICS
from evaluator.domain.metrics.answer_correctness import factual_f1
from evaluator.domain.metrics.context_precision import average_precision
from evaluator.domain.model import JudgePrompt, MetricOutcome, Row
from evaluator.domain.text import overlap_similarity

ROW = Row(
    0,
    "Where is the Eiffel Tower?",
    ("The Eiffel Tower is in Paris.", "Bananas are yellow."),
    "The Eiffel Tower is in Paris. It is made of iron.",
    "The Eiffel Tower is in Paris, France.",
)


def _prompt(metric: str, outputs: list[dict[str, object]]) -> JudgePrompt:
    step = METRICS[metric].advance(ROW, outputs)
    assert isinstance(step, JudgePrompt)
    return step


def _outcome(metric: str, row: Row, outputs: list[dict[str, object]]) -> MetricOutcome:
    outcome = METRICS[metric].advance(row, outputs)
    assert isinstance(outcome, MetricOutcome)
    return outcome


def test_every_metric_is_registered_with_its_name() -> None:
    assert set(METRICS) == {
        "faithfulness",
        "answer_relevancy",
        "context_precision",
        "context_recall",
        "answer_correctness",
    }


@pytest.mark.parametrize(
    ("metric", "marker", "tags"),
    [
        ("answer_relevancy", "[rex:answer_relevancy:questions]", ["<answer>", "<count>3</count>"]),
        ("context_precision", "[rex:context_precision:verdicts]", ["<reference>", "<context>"]),
        ("context_recall", "[rex:context_recall:attributions]", ["<reference>", "<context>"]),
        ("answer_correctness", "[rex:answer_correctness:statements]", ["<answer>", "<reference>"]),
    ],
)
def test_the_first_step_carries_its_marker_and_inputs_in_tags(
    metric: str, marker: str, tags: list[str]
) -> None:
    step = _prompt(metric, [])
    assert step.system.startswith(marker)
    assert all(tag in step.user for tag in tags)
    assert step.expected_output > 0


@pytest.mark.parametrize(
    ("questions", "noncommittal", "expected"),
    [
        (["Where is the Eiffel Tower?"], 0, Decimal(1)),
        (["Where is the Eiffel Tower?"], 1, Decimal(0)),
        (["What colour are bananas?"], 0, Decimal(0)),
    ],
)
def test_answer_relevancy_is_the_mean_similarity_of_generated_questions(
    questions: list[str], noncommittal: int, expected: Decimal
) -> None:
    parsed = METRICS["answer_relevancy"].advance(ROW, [])
    assert isinstance(parsed, JudgePrompt)
    out = parsed.parse(json.dumps({"questions": questions, "noncommittal": noncommittal}))
    outcome = _outcome("answer_relevancy", ROW, [out])
    assert outcome.score == expected
    assert outcome.reasoning["generated_questions"] == questions


def test_answer_relevancy_averages_over_questions() -> None:
    outcome = _outcome(
        "answer_relevancy",
        ROW,
        [
            {
                "questions": ["Where is the Eiffel Tower?", "Why are bananas yellow?"],
                "noncommittal": 0,
            }
        ],
    )
    assert outcome.score == Decimal("0.5")


def test_an_answer_relevancy_reply_without_questions_is_malformed() -> None:
    with pytest.raises(MalformedJudgeOutput):
        _prompt("answer_relevancy", []).parse('{"questions": []}')


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([1, 0], Decimal(1)),
        ([0, 1], Decimal("0.5")),
        ([1, 0, 1], (Decimal(1) + Decimal(2) / 3) / 2),
        ([0, 0], Decimal(0)),
        ([1, 1, 1], Decimal(1)),
    ],
)
def test_context_precision_is_mean_precision_at_each_useful_rank(
    verdicts: list[int], expected: Decimal
) -> None:
    assert average_precision(verdicts) == expected


def test_context_precision_needs_one_verdict_per_context() -> None:
    step = _prompt("context_precision", [])
    with pytest.raises(MalformedJudgeOutput, match="1 verdicts for 2 contexts"):
        step.parse('{"verdicts": [{"reason": "r", "verdict": 1}]}')
    out = step.parse('{"verdicts": [{"reason": "r", "verdict": "no"}, {"verdict": 1}]}')
    outcome = _outcome("context_precision", ROW, [out])
    assert outcome.score == Decimal("0.5") and outcome.reasoning["reference"] == "ground_truth"


def test_context_precision_uses_the_answer_when_there_is_no_ground_truth() -> None:
    row = Row(0, "q", ("c",), "the answer", None)
    step = METRICS["context_precision"].advance(row, [])
    assert isinstance(step, JudgePrompt) and "<reference>the answer</reference>" in step.user


@pytest.mark.parametrize(
    ("attributed", "expected"), [([1, 1], Decimal(1)), ([1, 0, 0], Decimal(1) / 3)]
)
def test_context_recall_is_attributed_sentences_over_all(
    attributed: list[int], expected: Decimal
) -> None:
    items = [
        {"statement": f"s{i}", "reason": "", "attributed": a} for i, a in enumerate(attributed)
    ]
    assert _outcome("context_recall", ROW, [{"attributions": items}]).score == expected


def test_context_recall_without_sentences_has_no_score() -> None:
    assert _outcome("context_recall", ROW, [{"attributions": []}]).score is None


@pytest.mark.parametrize(
    ("tp", "fp", "fn", "expected"),
    [(2, 0, 0, Decimal(1)), (1, 1, 0, Decimal(2) / 3), (1, 1, 2, Decimal("0.4")), (0, 3, 1, 0)],
)
def test_factual_f1(tp: int, fp: int, fn: int, expected: Decimal) -> None:
    assert factual_f1(tp, fp, fn) == expected


def test_answer_correctness_weights_f1_and_similarity() -> None:
    first = _prompt("answer_correctness", [])
    statements = first.parse('{"answer_statements": ["a1", "a2"], "reference_statements": ["r1"]}')
    second = _prompt("answer_correctness", [statements])
    assert second.step == "classify" and '["a1", "a2"]' in second.user
    classified = second.parse(
        '{"TP": [{"statement": "a1", "reason": ""}], "FP": [{"statement": "a2"}], "FN": []}'
    )
    outcome = _outcome("answer_correctness", ROW, [statements, classified])
    similarity = Decimal(str(round(overlap_similarity(ROW.answer, ROW.reference), 6)))
    assert outcome.score == Decimal("0.75") * Decimal(2) / 3 + Decimal("0.25") * similarity
    assert outcome.reasoning["factual_f1"] == "0.666667"


def test_answer_correctness_without_statements_has_no_score() -> None:
    empty = {"answer_statements": [], "reference_statements": []}
    assert _outcome("answer_correctness", ROW, [empty]).score is None


@pytest.mark.parametrize(
    ("metric", "missing"),
    [
        ("context_recall", ["ground_truth"]),
        ("answer_correctness", ["ground_truth"]),
        ("context_precision", []),
        ("answer_relevancy", []),
    ],
)
def test_metrics_name_the_fields_they_need(metric: str, missing: list[str]) -> None:
    row = Row(0, "q", ("c",), "a", None)
    assert METRICS[metric].missing_fields(row) == missing


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Where is the tower?", "Where are the towers?", 1.0),
        ("Paris tower", "Banana fruit", 0.0),
        ("", "anything", 0.0),
    ],
)
def test_overlap_similarity(a: str, b: str, expected: float) -> None:
    assert overlap_similarity(a, b) == pytest.approx(expected)


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_every_metric_forecasts_the_calls_of_a_row(metric: str) -> None:
    prompts = METRICS[metric].forecast(ROW)
    assert prompts and all(p.expected_output > 0 for p in prompts)
    assert [p.step for p in prompts] == list(METRICS[metric].steps)
    assert prompts[0].step == _prompt(metric, []).step
