"""The ledger's write statements: one round trip per batch, aggregates folded in set-wise.

Each statement is a chain of data-modifying CTEs: the ledger insert RETURNs only rows that are
new (ON CONFLICT DO NOTHING), and every aggregate, the daily rollup and the outbox are fed from
that RETURNING, so a redelivered event adds nothing anywhere. PostgreSQL runs every such CTE
exactly once and to completion, inside the caller's transaction.
"""

from collections.abc import Sequence

from rex_shared.cloudevents import headers_sql

from cost_ledger.domain.aggregates import COST_COLUMNS, MAX_BUCKET, TOKEN_FIELDS

Cols = Sequence[tuple[str, str]]

# What each new ledger row contributes to the aggregates (the `agg_in` CTE).
_SUMS = ("calls", "failed_calls", "unpriced_calls", *TOKEN_FIELDS, *COST_COLUMNS)


def _unnest(cols: Cols, first: int) -> str:
    arrays = ", ".join(f"${i}::{t}[]" for i, (_, t) in enumerate(cols, first))
    return f"unnest({arrays}) AS s({', '.join(c for c, _ in cols)})"


def _summed(table: str, extra: Sequence[str] = ()) -> str:
    return ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in (*extra, *_SUMS))


def _guarded(table: str) -> str:
    # An id reused by another org must never move money into someone else's totals.
    return f" WHERE {table}.org_id = EXCLUDED.org_id"


def _sums() -> str:
    return ", ".join(f"sum({c})" for c in _SUMS)


def _evaluations() -> str:
    cols = ", ".join(_SUMS)
    return (
        "rws AS (INSERT INTO evaluation_rows (evaluation_id, row_index, org_id)"
        " SELECT DISTINCT ON (evaluation_id, row_index) evaluation_id, row_index, org_id"
        " FROM agg_in WHERE evaluation_id IS NOT NULL AND row_index IS NOT NULL"
        " ORDER BY evaluation_id, row_index"
        " ON CONFLICT DO NOTHING RETURNING evaluation_id, org_id),"
        " rwc AS (SELECT evaluation_id, org_id, count(*) AS n FROM rws GROUP BY 1, 2),"
        " ev AS (INSERT INTO evaluation_costs (evaluation_id, org_id, project_id, user_id,"
        f" latency_ms_sum, qa_rows, {cols}, first_call_at, last_call_at)"
        " SELECT a.evaluation_id, a.org_id, min(project_id), min(user_id),"
        f" coalesce(sum(latency_ms), 0), coalesce(max(rwc.n), 0), {_sums()},"
        " min(occurred_at), max(occurred_at)"
        " FROM agg_in a LEFT JOIN rwc USING (evaluation_id, org_id)"
        " WHERE a.evaluation_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1"
        " ON CONFLICT (evaluation_id) DO UPDATE SET"
        f" {_summed('evaluation_costs', ('latency_ms_sum', 'qa_rows'))},"
        " first_call_at = LEAST(evaluation_costs.first_call_at, EXCLUDED.first_call_at),"
        " last_call_at = GREATEST(evaluation_costs.last_call_at, EXCLUDED.last_call_at)"
        f"{_guarded('evaluation_costs')} RETURNING 1)"
    )


def _histograms() -> str:
    """Per (evaluation, metric): this batch's latency histogram as {"bucket": calls}."""
    return (
        "lh AS (SELECT evaluation_id, metric, org_id,"
        f" least(floor(ln(greatest(latency_ms, 1)) / ln(1.05)), {MAX_BUCKET})::int AS b,"
        " count(*) AS n FROM agg_in"
        " WHERE evaluation_id IS NOT NULL AND latency_ms IS NOT NULL GROUP BY 1, 2, 3, 4),"
        " lha AS (SELECT evaluation_id, metric, org_id, jsonb_object_agg(b, n) AS hist"
        " FROM lh GROUP BY 1, 2, 3)"
    )


# Bucket-wise sum of two histograms.
_MERGED = (
    "(SELECT jsonb_object_agg(k, coalesce((evaluation_metric_costs.latency_hist ->> k)::int8, 0)"
    " + coalesce((EXCLUDED.latency_hist ->> k)::int8, 0))"
    " FROM jsonb_object_keys(evaluation_metric_costs.latency_hist || EXCLUDED.latency_hist) AS k)"
)


def _metrics() -> str:
    cols = ", ".join(_SUMS)
    return (
        f"{_histograms()},"
        " em AS (INSERT INTO evaluation_metric_costs (evaluation_id, metric, org_id,"
        f" latency_ms_sum, max_latency_ms, latency_hist, {cols}, first_call_at, last_call_at)"
        " SELECT a.evaluation_id, a.metric, a.org_id, coalesce(sum(latency_ms), 0),"
        f" max(latency_ms), coalesce(min(lha.hist::text)::jsonb, '{{}}'), {_sums()},"
        " min(occurred_at), max(occurred_at)"
        " FROM agg_in a LEFT JOIN lha USING (evaluation_id, metric, org_id)"
        " WHERE a.evaluation_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2"
        " ON CONFLICT (evaluation_id, metric) DO UPDATE SET"
        f" {_summed('evaluation_metric_costs', ('latency_ms_sum',))},"
        f" latency_hist = {_MERGED},"
        " max_latency_ms = GREATEST(evaluation_metric_costs.max_latency_ms,"
        " EXCLUDED.max_latency_ms),"
        " first_call_at = LEAST(evaluation_metric_costs.first_call_at, EXCLUDED.first_call_at),"
        " last_call_at = GREATEST(evaluation_metric_costs.last_call_at, EXCLUDED.last_call_at)"
        f"{_guarded('evaluation_metric_costs')} RETURNING 1)"
    )


_DAILY_KEY = "org_id, day, project_id, user_id, provider, model, metric"


def _daily() -> str:
    return (
        f"dc AS (INSERT INTO daily_costs ({_DAILY_KEY}, {', '.join(_SUMS)})"
        f" SELECT {_DAILY_KEY}, {_sums()} FROM agg_in"
        f" GROUP BY {_DAILY_KEY} ORDER BY {_DAILY_KEY}"
        f" ON CONFLICT ({_DAILY_KEY}) DO UPDATE SET {_summed('daily_costs')} RETURNING 1)"
    )


def _outbox(first: int) -> str:
    """Outbox rows for the new entries only; headers are the CloudEvents attributes."""
    p = first
    headers = headers_sql(
        id="o.event_id", source=f"${p + 1}::text", type=f"${p + 2}::text", time=f"${p + 3}::text"
    )
    return (
        "ob AS (INSERT INTO outbox (event_id, topic, key, headers, payload)"
        f" SELECT o.event_id, ${p}, i.org_id, {headers}, o.payload"
        f" FROM unnest(${p + 4}::uuid[], ${p + 5}::int4[], ${p + 6}::text[], ${p + 7}::bytea[])"
        " AS o(call_id, seq, event_id, payload) JOIN ins i USING (call_id, seq)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING 1)"
    )


OUTBOX_PARAMS = 8  # topic, source, type, time, call_ids, seqs, event_ids, payloads


def _tail(outbox_first: int) -> str:
    # One row per (provider, model, metric, org) of what was new: Prometheus counters read it.
    return (
        f"{_evaluations()}, {_metrics()}, {_daily()}, {_outbox(outbox_first)}"
        " SELECT provider, model, metric, org_id, sum(calls)::int8 AS calls,"
        " sum(total_cost) AS cost, "
        + ", ".join(f"sum({t})::int8 AS {t}" for t in TOKEN_FIELDS)
        + ", (SELECT count(*) FROM ob) AS announced"
        " FROM agg_in GROUP BY 1, 2, 3, 4"
    )


_AGG_OUT = (
    "org_id, project_id, user_id, evaluation_id, coalesce(metric, '') AS metric, provider,"
    " model, (occurred_at AT TIME ZONE 'UTC')::date AS day, occurred_at,"
    f" {', '.join(TOKEN_FIELDS)}, {', '.join(COST_COLUMNS)}"
)


def _as_text(cols: Cols) -> tuple[list[tuple[str, str]], str]:
    """Numeric columns travel as text (asyncpg encodes Decimal to binary numeric at twice the
    cost of str(); PostgreSQL parses the text exactly) and are cast back in the select list."""
    wire = [(c, "text" if t == "numeric" else t) for c, t in cols]
    select = ", ".join(f"{c}::numeric" if t == "numeric" else c for c, t in cols)
    return wire, select


def charges_statement(entry_cols: Cols) -> str:
    """Insert charges (seq 0) from unnest arrays, then fold the new ones in everywhere."""
    names = ", ".join(c for c, _ in entry_cols)
    wire, select = _as_text(entry_cols)
    return (
        f"WITH ins AS (INSERT INTO ledger_entries ({names})"
        f" SELECT {select} FROM {_unnest(wire, 1)}"
        " ON CONFLICT (call_id, seq) DO NOTHING"
        f" RETURNING call_id, seq, {_AGG_OUT}, latency_ms, row_index,"
        " 1 AS calls, (call_status = 'failed')::int AS failed_calls,"
        " (status = 'unpriced')::int AS unpriced_calls),"
        " agg_in AS (SELECT * FROM ins), "
        f"{_tail(len(entry_cols) + 1)}"
    )


ADJUSTMENT_COLS: tuple[tuple[str, str], ...] = (
    ("call_id", "uuid"), ("seq", "int4"), ("adjustment_id", "uuid"), ("event_id", "text"),
    ("price_id", "text"), ("model_id", "text"), ("note", "text"),
    ("recorded_at", "timestamptz"), ("unpriced_delta", "int4"),
    *((c, "numeric") for c in COST_COLUMNS),
)  # fmt: skip

# Copied from the charge: who pays and what the call was. Tokens are zero (already counted).
_FROM_CHARGE = (
    "org_id", "project_id", "user_id", "evaluation_id", "metric", "provider", "model",
    "requested_model", "api", "call_status", "service_tier", "batch", "started_at",
    "occurred_at", "row_index",
)  # fmt: skip


def adjustments_statement() -> str:
    """Insert adjustment entries (cost deltas) referencing their charge, then fold them in."""
    own = [c for c, _ in ADJUSTMENT_COLS if c != "unpriced_delta"]
    zero = [*TOKEN_FIELDS, "latency_ms"]
    cols = [*own, *_FROM_CHARGE, *zero, "entry_kind", "status"]
    values = [
        *(f"s.{c}" for c in own),
        *(f"c.{c}" for c in _FROM_CHARGE),
        *("0" for _ in zero),
        "'adjustment'",
        "'priced'",
    ]
    return (
        f"WITH src AS (SELECT * FROM {_unnest(ADJUSTMENT_COLS, 1)}),"
        f" ins AS (INSERT INTO ledger_entries ({', '.join(cols)})"
        f" SELECT {', '.join(values)} FROM src s"
        " JOIN ledger_entries c ON c.call_id = s.call_id AND c.seq = 0"
        " ORDER BY s.call_id, s.seq"
        " ON CONFLICT (call_id, seq) DO NOTHING"
        f" RETURNING call_id, seq, {_AGG_OUT}),"
        " agg_in AS (SELECT i.*, NULL::int4 AS latency_ms, NULL::int4 AS row_index,"
        " 0 AS calls, 0 AS failed_calls, s.unpriced_delta AS unpriced_calls"
        " FROM ins i JOIN src s USING (call_id, seq)), "
        f"{_tail(len(ADJUSTMENT_COLS) + 1)}"
    )
