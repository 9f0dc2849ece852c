"""JSON shapes of the cost API: money and rates as decimal strings, never floats."""

from collections.abc import Sequence
from dataclasses import fields
from decimal import Decimal
from typing import Any

import asyncpg
from rex_shared.money import to_str

from cost_ledger.adapters.costs_repo import EvaluationCosts
from cost_ledger.domain.aggregates import (
    COST_FIELDS,
    NO_METRIC,
    TOKEN_FIELDS,
    histogram,
    percentile_ms,
)
from cost_ledger.domain.pricebook import CatalogRow, Quote
from cost_ledger.domain.pricing import Rates

CURRENCY = "USD"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else to_str(value)


def _tokens(rec: asyncpg.Record) -> dict[str, int]:
    return {name: rec[name] for name in TOKEN_FIELDS}


def _components(rec: asyncpg.Record) -> dict[str, str | None]:
    return {name: _money(rec[f"cost_{name}"]) for name in COST_FIELDS if name != "total"}


def _ratio(part: int, whole: int) -> str | None:
    # A rate, not money: still a decimal string so no float sneaks into the JSON.
    return to_str(Decimal(part) / Decimal(whole)) if whole else None


def _avg(total: Decimal, count: int) -> str | None:
    return to_str(total / count) if count else None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _metric(rec: asyncpg.Record) -> dict[str, Any]:
    calls = rec["calls"]
    return {
        "metric": rec["metric"] if rec["metric"] != NO_METRIC else None,
        "calls": calls, "failed_calls": rec["failed_calls"],
        "unpriced_calls": rec["unpriced_calls"], "failure_rate": _ratio(rec["failed_calls"], calls),
        "cost": _money(rec["total_cost"]), "avg_cost_per_call": _avg(rec["total_cost"], calls),
        "cost_by_component": _components(rec), "tokens": _tokens(rec),
        "avg_latency_ms": round(rec["latency_ms_sum"] / calls) if calls else None,
        "p95_latency_ms": percentile_ms(histogram(rec["latency_hist"]), 0.95,
                                        largest=rec["max_latency_ms"]),
        "max_latency_ms": rec["max_latency_ms"],
        "first_call_at": _iso(rec["first_call_at"]), "last_call_at": _iso(rec["last_call_at"]),
    }  # fmt: skip


def evaluation(found: EvaluationCosts) -> dict[str, Any]:
    """`GET /api/v1/costs/evaluations/{id}`."""
    t = found.totals
    metrics = [_metric(m) for m in found.metrics]
    return {
        "evaluation_id": str(t["evaluation_id"]), "project_id": t["project_id"],
        "user_id": t["user_id"], "total_cost": _money(t["total_cost"]),
        "currency": CURRENCY, "calls": t["calls"], "failed_calls": t["failed_calls"],
        "unpriced_calls": t["unpriced_calls"], "qa_rows": t["qa_rows"],
        "avg_cost_per_qa_row": _avg(t["total_cost"], t["qa_rows"]),
        "tokens": _tokens(t), "cost_by_component": _components(t), "metrics": metrics,
        "first_call_at": _iso(t["first_call_at"]), "last_call_at": _iso(t["last_call_at"]),
    }  # fmt: skip


def rates(r: Rates) -> dict[str, Any]:
    """A row's rates: $/MTok (web search $/request) as decimal strings, null when not priced."""
    return {
        f.name: getattr(r, f.name) if f.name == "long_context_threshold"
        else _money(getattr(r, f.name))
        for f in fields(r)
    }  # fmt: skip


def catalog_row(row: CatalogRow) -> dict[str, Any]:
    """One price catalog row."""
    return {
        "id": row.id, "provider": row.provider, "model_id": row.model_id,
        "model_name": row.model_name, "service_tier": row.service_tier, "batch": row.batch,
        "org_id": row.org_id, "effective_from": row.effective_from.isoformat(),
        "effective_to": row.effective_to.isoformat() if row.effective_to else None,
        "source": row.source, "rates": rates(row.rates),
    }  # fmt: skip


def pricing_page(
    model_id: str | None, rows: Sequence[CatalogRow], next_cursor: str | None
) -> dict[str, Any]:
    """`GET /api/v1/costs/pricing`."""
    return {"model_id": model_id, "items": [catalog_row(r) for r in rows],
            "next_cursor": next_cursor}  # fmt: skip


def price_added(row: CatalogRow, reference_id: str | None, unusual: list[str]) -> dict[str, Any]:
    """`POST /api/v1/costs/pricing`: the row added, its reference and the unusual rates."""
    return {**catalog_row(row), "reference_price_id": reference_id, "unusual": unusual}


def estimate(quote: Quote) -> dict[str, Any]:
    """`POST /api/v1/costs/estimate`."""
    cost = {name: to_str(value) for name, value in quote.cost.model_dump().items()}
    return {
        "total_cost": cost["total"], "currency": CURRENCY, "cost": cost,
        "price_id": quote.row.id if quote.row else None, "status": quote.status,
        "model_id": quote.model_id,
        "service_tier": quote.row.service_tier if quote.row else None,
        "batch": quote.row.batch if quote.row else None,
    }  # fmt: skip
