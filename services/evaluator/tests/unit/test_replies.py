"""The documented reply models describe exactly what the views emit: every field, its type,
null where a view writes null, money as decimal strings (a field a view adds without its
model, or a number where a string is documented, fails here)."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from evaluator.domain.model import Dataset, Evaluation, Judge, KeyInfo, Row
from evaluator.entrypoints.http import replies, views
from evaluator.handlers.estimates import Estimate, estimate_cost
from evaluator.ports import EvaluationState, RowResult
from pydantic import BaseModel, ValidationError
from rex_shared.api import Envelope, ok

NOW = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
ROWS = (
    Row(0, "What is the Eiffel Tower?", ("A tower in Paris.",), "A tower in Paris.", "A tower."),
    Row(1, "When was it built?", ("Built in 1889.",), "In 1889.", None),
)
BUDGET_WARNING = {
    "budget_id": str(uuid4()),
    "budget_name": "team",
    "message": "budget team would reach 85% of its limit",
    "usage_percent_after": "85.25",
}
OWN_WARNING = {"code": "NOT_ESTIMATED", "message": "ledger unavailable"}


def conforms(model: type[BaseModel], data: Any) -> None:
    """The enveloped reply, as JSON text (a Decimal cannot pass), matches `model` strictly."""
    Envelope[model].model_validate_json(json.dumps(ok(data)), strict=True)  # type: ignore[valid-type]


async def _estimate(quoter: Any) -> Estimate:
    async def history(model: str) -> dict[Any, Decimal]:
        return {}

    return await estimate_cost(
        ROWS,
        ("faithfulness", "answer_correctness"),
        Judge("anthropic", "claude-haiku-4-5"),
        org_id="org-1",
        user_id="ann",
        quoter=quoter,
        history=history,
        anthropic_factor=Decimal("1.1"),
    )


def _evaluation(estimate: Estimate | None, **changes: Any) -> Evaluation:
    fields: dict[str, Any] = {
        "id": uuid4(),
        "org_id": "org-1",
        "project_id": "proj",
        "user_id": "ann",
        "metrics": ("faithfulness", "answer_correctness"),
        "judge": Judge("anthropic", "claude-haiku-4-5"),
        "rows_total": len(ROWS),
        "created_at": NOW,
        "estimated_cost": estimate.total if estimate else None,
        "estimate": estimate.as_json() if estimate else None,
    }
    return Evaluation(**(fields | changes))


def _states(estimate: Estimate) -> list[EvaluationState]:
    queued = _evaluation(None, warnings=(OWN_WARNING,))
    done = _evaluation(
        estimate,
        name="nightly",
        status="completed",
        dataset_id=uuid4(),
        warnings=(BUDGET_WARNING,),
        reservation_id=str(uuid4()),
    )
    return [
        EvaluationState(queued, rows_done=0),
        EvaluationState(
            done,
            rows_done=2,
            scores={"faithfulness": 0.75, "answer_correctness": None},
            started_at=NOW,
            completed_at=NOW,
            calls=7,
        ),
        EvaluationState(  # no rows: progress is the integer 0
            _evaluation(None, status="failed", rows_total=0),
            rows_done=0,
            error="judge failed",
            cancel_requested=True,
        ),
    ]


RESULTS = [
    RowResult(0, "faithfulness", "succeeded", Decimal("0.5"), {"claims": ["a"], "total": 2}, None),
    RowResult(0, "answer_correctness", "failed", None, {}, "malformed judge output"),
    RowResult(1, "faithfulness", "succeeded", Decimal(1), {"claims": []}, None),
]
ACTUALS = [
    {"actual": None},  # no ledger configured
    {"actual": None, "actual_error": "ledger unavailable: timeout"},
    {"actual": "0", "ledger": None},  # nothing recorded yet
    {"actual": "0.000123", "ledger": {"total_cost": "0.000123", "calls": 3, "metrics": []}},
]


async def test_evaluation_views_match_their_models(quoter: Any) -> None:
    states = _states(await _estimate(quoter))
    for state in states:
        conforms(replies.EvaluationSummary, views.summary_view(state))
        for actual in ACTUALS:
            conforms(replies.EvaluationOut, views.evaluation_view(state, RESULTS, actual))
    summaries = [views.summary_view(s) for s in states]
    conforms(replies.EvaluationPage, views.page_view(summaries, "cursor-text"))
    conforms(replies.EvaluationPage, views.page_view([], None))


async def test_submit_and_estimate_views_match_their_models(quoter: Any) -> None:
    estimate = await _estimate(quoter)
    warned = _evaluation(estimate, warnings=(BUDGET_WARNING,), reservation_id=str(uuid4()))
    for evaluation in (warned, _evaluation(None, warnings=(OWN_WARNING,))):
        conforms(replies.Submitted, views.submitted_view(evaluation))
    conforms(replies.EstimateReply, views.estimate_view(estimate, 2, Judge("openai", "gpt-4o")))
    conforms(replies.Cancelling, views.cancelling_view(str(uuid4())))


def test_dataset_and_key_views_match_their_models() -> None:
    dataset = Dataset(uuid4(), "org-1", "ann", "golden", len(ROWS), 321, NOW, ROWS)
    conforms(replies.DatasetOut, views.dataset_view(dataset))
    conforms(replies.DatasetDetail, views.dataset_view(dataset, rows=True))
    conforms(replies.DatasetDetail, views.dataset_view(dataset))  # ?rows=false
    conforms(replies.DatasetPage, views.page_view([views.dataset_view(dataset)], None))
    keys = [KeyInfo(p, "wxyz", "k1", "ann", NOW) for p in ("anthropic", "openai")]
    conforms(replies.KeyOut, views.key_view(keys[0]))
    conforms(replies.KeyList, views.keys_view(keys))
    conforms(replies.KeysRotated, views.rotated_view(2))
    conforms(replies.KeyDeleted, views.key_deleted_view("openai"))


async def test_money_in_the_replies_is_a_decimal_string(quoter: Any) -> None:
    estimate = await _estimate(quoter)
    submitted = views.submitted_view(_evaluation(estimate))
    assert isinstance(submitted["estimated_cost"], str)
    assert Decimal(submitted["estimated_cost"]) == estimate.total
    steps = [s for m in submitted["estimate"]["metrics"].values() for s in m["steps"].values()]
    assert steps and all(isinstance(s["estimated_cost"], str) for s in steps)


@pytest.mark.parametrize(
    ("model", "change"),
    [
        (replies.EvaluationSummary, {"surprise": 1}),  # a field the model does not know
        (replies.EvaluationSummary, {"estimated_cost": 0.5}),  # money as a JSON number
        (replies.EvaluationSummary, {"estimated_cost": "1e-5"}),  # not a plain decimal
        (replies.EvaluationSummary, {"created_at": None}),  # never null
        (replies.EvaluationSummary, {"progress": "0.5"}),
    ],
    ids=["unknown field", "money as number", "exponent", "null created_at", "progress text"],
)
async def test_a_view_that_drifts_from_its_model_fails(
    quoter: Any, model: type[BaseModel], change: dict[str, Any]
) -> None:
    view = views.summary_view(_states(await _estimate(quoter))[1])
    with pytest.raises(ValidationError):
        conforms(model, view | change)


def test_a_missing_field_fails() -> None:
    key = views.key_view(KeyInfo("openai", "wxyz", "k1", "ann", NOW))
    del key["kek_id"]
    with pytest.raises(ValidationError):
        conforms(replies.KeyOut, key)
