"""Read calls as the ledger holds them now (charge + adjustments) for repricing."""

from typing import Any

import asyncpg
from rex_shared.events import CostComponents, Usage

from cost_ledger.domain.aggregates import COST_COLUMNS, COST_FIELDS, TOKEN_FIELDS
from cost_ledger.domain.repricing import Recorded, Scope

_ADJ_SUMS = ", ".join(f"sum({c}) AS {c}" for c in COST_COLUMNS)
_EFFECTIVE = ", ".join(f"c.{c} + coalesce(a.{c}, 0) AS {c}" for c in COST_COLUMNS)
_SELECT = (
    "SELECT c.call_id, c.org_id, c.project_id, c.user_id, c.evaluation_id, c.metric,"
    " c.provider, c.model, c.call_status, c.service_tier, c.batch, c.occurred_at,"
    f" {', '.join('c.' + t for t in TOKEN_FIELDS)}, {_EFFECTIVE},"
    " CASE WHEN a.n > 0 THEN 'priced' ELSE c.status END AS status,"
    " coalesce(a.price_id, c.price_id) AS price_id, coalesce(a.last_seq, 0) AS last_seq"
    " FROM ledger_entries c"
    f" LEFT JOIN LATERAL (SELECT count(*) AS n, max(seq) AS last_seq, {_ADJ_SUMS},"
    " (array_agg(price_id ORDER BY seq DESC))[1] AS price_id"
    " FROM ledger_entries x WHERE x.call_id = c.call_id AND x.seq > 0) a ON a.n > 0"
    " WHERE c.org_id = $1 AND c.seq = 0"
    " AND ($2::text IS NULL OR c.provider = $2) AND ($3::text IS NULL OR c.model = $3)"
    " AND ($4::timestamptz IS NULL OR c.occurred_at >= $4)"
    " AND ($5::timestamptz IS NULL OR c.occurred_at < $5)"
    " AND ($6::timestamptz IS NULL OR (c.occurred_at, c.call_id) > ($6, $7::uuid))"
    " AND ($8 OR (c.status = 'unpriced' AND a.n IS NULL))"
    " ORDER BY c.occurred_at, c.call_id LIMIT $9"
)


def _recorded(r: asyncpg.Record) -> Recorded:
    cost = CostComponents(**{f: r[c] for f, c in zip(COST_FIELDS, COST_COLUMNS, strict=True)})
    return Recorded(
        call_id=r["call_id"], org_id=r["org_id"], project_id=r["project_id"],
        user_id=r["user_id"], evaluation_id=r["evaluation_id"], metric=r["metric"],
        provider=r["provider"], model=r["model"], call_status=r["call_status"],
        service_tier=r["service_tier"], batch=r["batch"],
        usage=Usage(**{t: r[t] for t in TOKEN_FIELDS}), occurred_at=r["occurred_at"],
        status=r["status"], price_id=r["price_id"], cost=cost, last_seq=r["last_seq"],
    )  # fmt: skip


async def recorded_calls(conn: asyncpg.Connection, scope: Scope, *, limit: int) -> list[Recorded]:
    """Up to `limit` calls in scope, oldest first, with their effective cost."""
    after: tuple[Any, Any] = scope.after or (None, None)
    rows = await conn.fetch(
        _SELECT, scope.org_id, scope.provider, scope.model, scope.start, scope.end, *after,
        scope.include_priced, limit,
    )  # fmt: skip
    return [_recorded(r) for r in rows]


async def lock_org(conn: asyncpg.Connection, org_id: str) -> None:
    """Serialize repricing per org: the second run sees the first one's adjustments."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ledger-reprice:' || $1))", org_id)
