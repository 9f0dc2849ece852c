"""JSON shapes of the cost API: money and rates as decimal strings, never floats."""

from dataclasses import fields
from decimal import Decimal
from typing import Any

import asyncpg
from rex_shared.money import to_str

from cost_ledger.adapters.costs_repo import EvaluationCosts
from cost_ledger.domain.aggregates import COST_FIELDS, NO_METRIC, TOKEN_FIELDS
from cost_ledger.domain.pricebook import CatalogRow, Quote
from cost_ledger.domain.pricing import Rates

CURRENCY = "USD"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else to_str(value)


def _tokens(rec: asyncpg.Record) -> dict[str, int]:
    return {name: rec[name] for name in TOKEN_FIELDS}


def _components(rec: asyncpg.Record) -> dict[str, str | None]:
    return {name: _money(rec[f"cost_{name}"]) for name in COST_FIELDS if name != "total"}


def _metric(rec: asyncpg.Record) -> dict[str, Any]:
    return {
        "metric": rec["metric"] if rec["metric"] != NO_METRIC else None,
        "calls": rec["calls"], "failed_calls": rec["failed_calls"],
        "unpriced_calls": rec["unpriced_calls"], "cost": _money(rec["total_cost"]),
        "cost_by_component": _components(rec), "tokens": _tokens(rec),
        "avg_latency_ms": rec["latency_ms_sum"] / rec["calls"] if rec["calls"] else None,
    }  # fmt: skip


def evaluation(found: EvaluationCosts) -> dict[str, Any]:
    """`GET /api/v1/costs/evaluations/{id}`."""
    t = found.totals
    return {
        "evaluation_id": str(t["evaluation_id"]), "total_cost": _money(t["total_cost"]),
        "currency": CURRENCY, "calls": t["calls"], "failed_calls": t["failed_calls"],
        "unpriced_calls": t["unpriced_calls"], "tokens": _tokens(t),
        "cost_by_component": _components(t), "metrics": [_metric(m) for m in found.metrics],
        "first_call_at": t["first_call_at"].isoformat() if t["first_call_at"] else None,
        "last_call_at": t["last_call_at"].isoformat() if t["last_call_at"] else None,
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
