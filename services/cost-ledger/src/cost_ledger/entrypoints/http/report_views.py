"""JSON and CSV shapes of /summary, /daily, /calls and /reprice; money as decimal strings."""

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
from rex_shared.money import to_str

from cost_ledger.domain.aggregates import COST_COLUMNS, COST_FIELDS, NO_METRIC, TOKEN_FIELDS
from cost_ledger.domain.repricing import Adjustment

_COUNTS = ("calls", "failed_calls", "unpriced_calls")


@dataclass
class Sums:
    """Counts, tokens and exact costs added up over rollup rows."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTS, 0))
    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_FIELDS, 0))
    costs: dict[str, Decimal] = field(
        default_factory=lambda: dict.fromkeys(COST_COLUMNS, Decimal(0))
    )

    def add(self, rec: asyncpg.Record) -> None:
        for c in _COUNTS:
            self.counts[c] += rec[c]
        for t in TOKEN_FIELDS:
            self.tokens[t] += rec[t]
        for m in COST_COLUMNS:
            self.costs[m] += rec[m]

    def view(self) -> dict[str, Any]:
        parts = {f: to_str(self.costs[c]) for f, c in zip(COST_FIELDS, COST_COLUMNS, strict=True)}
        total = parts.pop("total")
        return {"total_cost": total, **self.counts, "tokens": self.tokens,
                "cost_by_component": parts}  # fmt: skip


def _key(value: str | None) -> str | None:
    return None if value == NO_METRIC else value


def summary(
    groups: Sequence[asyncpg.Record], buckets: Sequence[asyncpg.Record], *, period: str,
    first: date, after: date, group_by: str | None,
) -> dict[str, Any]:  # fmt: skip
    """The window, its total, groups (largest cost first) and a series per time bucket."""
    total = Sums()
    for rec in buckets:
        total.add(rec)
    keyed = [(rec["key"], _sums(rec)) for rec in groups]
    keyed.sort(key=lambda kv: (-kv[1].costs["total_cost"], str(kv[0])))
    return {
        "period": period, "from": first.isoformat(), "to": after.isoformat(),
        **total.view(), "currency": "USD", "group_by": group_by,
        "groups": [{"key": _key(k), **s.view()} for k, s in keyed],
        "series": [{"period_start": r["bucket"].isoformat(), **_sums(r).view()} for r in buckets],
    }  # fmt: skip


def _sums(rec: asyncpg.Record) -> Sums:
    s = Sums()
    s.add(rec)
    return s


def daily(
    rows: Sequence[asyncpg.Record], *, first: date, after: date, group_by: str | None
) -> dict[str, Any]:
    """The window and one item per (day, group)."""
    items = [{"day": r["bucket"].isoformat(), "key": _key(r["key"]), **_sums(r).view()}
             for r in rows]  # fmt: skip
    return {"from": first.isoformat(), "to": after.isoformat(), "currency": "USD",
            "group_by": group_by, "items": items}  # fmt: skip


_CALL_FIELDS = (
    "call_id", "seq", "entry_kind", "adjustment_id", "evaluation_id", "metric", "row_index",
    "project_id", "user_id", "provider", "model", "model_id", "requested_model", "api",
    "call_status", "status", "price_id", "service_tier", "batch", *TOKEN_FIELDS, *COST_COLUMNS,
    "currency", "started_at", "occurred_at", "recorded_at", "latency_ms", "error", "note",
)  # fmt: skip


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return to_str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def call_row(rec: asyncpg.Record) -> dict[str, Any]:
    """One ledger row, flat (the CSV has the same columns)."""
    return {name: _cell(rec[name]) for name in _CALL_FIELDS}


def calls_page(rows: Iterable[asyncpg.Record], next_cursor: str | None) -> dict[str, Any]:
    """A page of ledger rows as JSON."""
    return {"items": [call_row(r) for r in rows], "next_cursor": next_cursor}


def calls_csv(rows: Iterable[asyncpg.Record]) -> str:
    """The ledger rows as CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CALL_FIELDS)
    for rec in rows:
        writer.writerow([_csv_cell(rec[n]) for n in _CALL_FIELDS])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    # Spreadsheets run text cells starting with = + - @ as formulas (CSV injection): defuse
    # them. Numbers (a negative adjustment) are not text and stay as they are.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return _cell(value)


def reprice_report(
    adjustments: Sequence[Adjustment], *, examined: int, dry_run: bool, next_cursor: str | None
) -> dict[str, Any]:
    """What a reprice run found (and, unless a dry run, recorded)."""
    by_model: dict[tuple[str, str], list[Adjustment]] = {}
    for a in adjustments:
        by_model.setdefault((a.of.provider, a.of.model), []).append(a)
    delta = sum((a.delta.total for a in adjustments), Decimal(0))
    return {
        "dry_run": dry_run, "examined": examined, "repriced": len(adjustments),
        "unchanged_or_unknown": examined - len(adjustments), "delta_total": to_str(delta),
        "currency": "USD",
        "by_model": [{"provider": p, "model": m, "calls": len(v),
                      "delta": to_str(sum((a.delta.total for a in v), Decimal(0)))}
                     for (p, m), v in sorted(by_model.items())],
        "adjustments": [_adjustment(a) for a in adjustments[:100]],
        "next_cursor": next_cursor,
    }  # fmt: skip


def _adjustment(a: Adjustment) -> dict[str, Any]:
    return {
        "call_id": str(a.of.call_id), "seq": a.seq, "adjustment_id": str(a.adjustment_id),
        "previous_status": a.of.status, "previous_price_id": a.of.price_id,
        "price_id": a.price_id, "previous_cost": to_str(a.of.cost.total),
        "new_cost": to_str(a.new_cost.total), "delta": to_str(a.delta.total),
    }  # fmt: skip
