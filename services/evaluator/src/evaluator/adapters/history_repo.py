"""What past judge calls teach about reply sizes, per metric, step and requested model."""

import asyncio
import time
from decimal import Decimal

import asyncpg

from evaluator.adapters.pg import transaction
from evaluator.domain.metrics import METRICS
from evaluator.domain.predict import INPUT, MIN_CALLS, Step, learned_ratio

WINDOW = 500  # most recent calls per (metric, step) that count


class PgOutputHistory:
    """actual/expected tokens of recent calls, per model; cached for `ttl_s` (every
    submission asks, the answer moves slowly) and read once however many ask at once."""

    def __init__(self, pool: asyncpg.Pool, *, ttl_s: float = 60.0) -> None:
        self._pool, self._ttl = pool, ttl_s
        self._cache: dict[str, tuple[float, dict[Step, Decimal]]] = {}
        self._reading: dict[str, asyncio.Future[dict[Step, Decimal]]] = {}

    async def ratios(self, model: str) -> dict[Step, Decimal]:
        hit = self._cache.get(model)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        if model in self._reading:  # another request is reading it: share its answer
            return await asyncio.shield(self._reading[model])
        reading = asyncio.get_running_loop().create_future()
        self._reading[model] = reading
        try:
            ratios = await self._read(model)
            self._cache[model] = (time.monotonic() + self._ttl, ratios)
            reading.set_result(ratios)
            return ratios
        except BaseException as exc:
            reading.set_exception(exc)
            reading.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._reading[model]

    async def _read(self, model: str) -> dict[Step, Decimal]:
        steps = [(m.name, step) for m in METRICS.values() for step in m.steps]
        # Aggregates over every org's calls: sizes only, nothing an org could read back.
        async with transaction(self._pool, None) as conn:
            records = await conn.fetch(
                "SELECT s.metric, s.step, coalesce(sum(r.output_tokens), 0) AS actual,"
                " coalesce(sum(r.expected_output_tokens), 0) AS expected, count(r.*) AS n"
                " FROM unnest($2::text[], $3::text[]) AS s(metric, step)"
                " LEFT JOIN LATERAL (SELECT output_tokens, expected_output_tokens FROM llm_calls c"
                "  WHERE c.requested_model = $1 AND c.metric = s.metric AND c.step = s.step"
                "  AND c.status = 'succeeded' AND c.expected_output_tokens > 0"
                "  ORDER BY c.created_at DESC LIMIT $4) r ON true GROUP BY s.metric, s.step",
                model,
                [m for m, _ in steps],
                [s for _, s in steps],
                WINDOW,
            )
            found = await conn.fetchrow(
                "SELECT coalesce(sum(input_tokens), 0) AS actual,"
                " coalesce(sum(expected_input_tokens), 0) AS expected, count(*) AS n FROM ("
                "  SELECT input_tokens, expected_input_tokens FROM llm_calls"
                "  WHERE requested_model = $1 AND status = 'succeeded'"
                "  AND expected_input_tokens > 0 ORDER BY created_at DESC LIMIT $2) recent",
                model,
                WINDOW,
            )
        ratios = {
            (r["metric"], r["step"]): learned_ratio(int(r["actual"]), int(r["expected"]), r["n"])
            for r in records
        }
        if found is not None and found["n"] >= MIN_CALLS:
            ratios[INPUT] = learned_ratio(int(found["actual"]), int(found["expected"]), found["n"])
        return ratios
