"""An evaluation's predicted cost: usage forecast per metric step, priced by the ledger."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rex_shared.money import to_str

from evaluator.domain.metrics import METRICS
from evaluator.domain.model import Judge, Quote, Row
from evaluator.domain.predict import INPUT, StepTotals, TokenCounter, forecast_usage
from evaluator.ports import History, Quoter

if TYPE_CHECKING:  # evaluations.py imports Estimate from here
    from evaluator.handlers.evaluations import SubmitEvaluation


@dataclass(frozen=True)
class Estimate:
    """The predicted cost and how it breaks down per metric."""

    total: Decimal
    metrics: dict[str, dict[str, Any]]
    price_id: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "estimated_cost": to_str(self.total),
            "currency": "USD",
            "price_id": self.price_id,
            "metrics": self.metrics,
        }


def _metric_view(steps: list[tuple[StepTotals, Decimal]]) -> dict[str, Any]:
    cost = sum((c for _, c in steps), Decimal(0))
    return {
        "estimated_cost": to_str(cost),
        "calls": sum(s.calls for s, _ in steps),
        "input_tokens": sum(s.input_tokens for s, _ in steps),
        "output_tokens": sum(s.output_tokens for s, _ in steps),
        "steps": {
            s.step: {
                "calls": s.calls,
                "estimated_cost": to_str(c),
                "per_call": s.per_call().model_dump(),
            }
            for s, c in steps
        },
    }


async def estimate_cost(
    rows: Sequence[Row],
    metrics: Sequence[str],
    judge: Judge,
    *,
    org_id: str,
    user_id: str,
    quoter: Quoter,
    history: History,
    anthropic_factor: Decimal,
) -> Estimate:
    """Forecast usage per metric step, price one average call of each step, multiply."""
    ratios = await history(judge.model)
    counter = TokenCounter(judge, anthropic_factor, ratios.get(INPUT))
    totals = forecast_usage(rows, metrics, lambda m, r: METRICS[m].forecast(r), counter, ratios)

    async def price(step: StepTotals) -> tuple[StepTotals, Quote]:
        quote = await quoter.estimate(
            org_id=org_id,
            user_id=user_id,
            provider=judge.provider,
            model=judge.model,
            usage=step.per_call(),
        )
        return step, quote

    priced = await asyncio.gather(*(price(s) for s in totals))
    per_metric: dict[str, list[tuple[StepTotals, Decimal]]] = {m: [] for m in metrics}
    for step, quote in priced:
        per_metric[step.metric].append((step, quote.total * step.calls))
    total = sum((c for steps in per_metric.values() for _, c in steps), Decimal(0))
    price_id = next((q.price_id for _, q in priced if q.price_id), None)
    return Estimate(total, {m: _metric_view(s) for m, s in per_metric.items()}, price_id)


def estimator(
    quoter: Quoter, history: History, anthropic_factor: Decimal
) -> "Callable[[SubmitEvaluation], Awaitable[Estimate]]":
    """A submission's estimate: its rows, metrics and judge, priced for its payer."""

    async def estimate(cmd: "SubmitEvaluation") -> Estimate:
        return await estimate_cost(
            cmd.rows,
            cmd.metrics,
            cmd.judge,
            org_id=cmd.org_id,
            user_id=cmd.user_id,
            quoter=quoter,
            history=history,
            anthropic_factor=anthropic_factor,
        )

    return estimate
