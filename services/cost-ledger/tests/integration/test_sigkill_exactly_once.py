"""A ledger process killed with SIGKILL mid-stream and restarted counts every event exactly once."""

import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import uuid4, uuid5

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from cost_ledger.bootstrap import migrate_and_seed
from cost_ledger.domain.catalog import seed_rows
from cost_ledger.domain.ledger import entry_for
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from rex_shared import cloudevents
from rex_shared.events import REX_NAMESPACE, LlmCallCompleted, Usage
from rex_shared.kafka import ensure_topics
from rex_testkit.infra import Infra, repo_root
from rex_testkit.ports import free_port

from .conftest import delete_topics

EVENTS = 3000
MODELS = [("openai", "gpt-4o-2024-08-06"), ("anthropic", "claude-sonnet-4-5-20250929")]


def _calls(org: str, n: int) -> list[LlmCallCompleted]:
    rnd, at = random.Random(5), datetime(2025, 10, 1, tzinfo=UTC)
    evaluations = [uuid4() for _ in range(5)]
    return [
        LlmCallCompleted(
            call_id=uuid4(),
            evaluation_id=rnd.choice(evaluations),
            metric=f"m{i % 3}",
            org_id=org,
            project_id="p",
            user_id="u",
            provider=(m := rnd.choice(MODELS))[0],
            model=m[1],
            requested_model=m[1],
            api="messages" if m[0] == "anthropic" else "chat.completions",
            started_at=at,
            completed_at=at + timedelta(seconds=i),
            latency_ms=rnd.randint(1, 9999),
            status="succeeded",
            row_index=i % 50,
            usage=Usage(
                input_tokens=(t := rnd.randint(100, 9000)),
                cache_read_tokens=t // 3,
                output_tokens=rnd.randint(1, 900),
            ),
        )
        for i in range(n)
    ]


class Ledger:
    """`python -m cost_ledger serve` as a real process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            command = [sys.executable, "-m", "cost_ledger", "serve"]
            self.proc = subprocess.Popen(command, env=self.env, stdout=out, stderr=out)

    def kill(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)


@pytest.fixture
async def topics_pair(infra: Infra) -> AsyncIterator[tuple[str, str]]:
    tag = secrets.token_hex(4)
    calls, costs = f"test.ledger.{tag}.calls", f"test.ledger.{tag}.cost"
    await ensure_topics(infra.kafka_bootstrap, [calls, costs])
    yield calls, costs
    await delete_topics(infra.kafka_bootstrap, [calls, costs, f"{calls}.dlq", f"{costs}.dlq"])


async def _count(db: asyncpg.Connection, sql: str) -> int:
    value: int = await db.fetchval(sql)
    return value


async def _wait(db: asyncpg.Connection, sql: str, at_least: int, ledger: Ledger,
                within_s: float = 45) -> None:  # fmt: skip
    deadline = asyncio.get_running_loop().time() + within_s
    while await _count(db, sql) < at_least:
        assert ledger.proc is not None and ledger.proc.poll() is None, "the ledger died"
        assert asyncio.get_running_loop().time() < deadline, f"{sql}: not {at_least} in time"
        await asyncio.sleep(0.1)


async def _ce_ids(bootstrap: str, topic: str) -> list[str]:
    probe = AIOKafkaProducer(bootstrap_servers=bootstrap)  # partitions_for loads the metadata
    await probe.start()
    try:
        parts = [TopicPartition(topic, p) for p in await probe.partitions_for(topic)]
    finally:
        await probe.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        ids: list[str] = []
        while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                ids += [dict(r.headers)["ce_id"].decode() for r in records]
        return ids
    finally:
        await consumer.stop()


async def test_a_sigkilled_ledger_restarts_and_counts_every_event_exactly_once(
    infra: Infra, fresh_schema: tuple[str, str], topics_pair: tuple[str, str], jwt_secret: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    schema, dsn = fresh_schema
    calls_topic, cost_topic = topics_pair
    await migrate_and_seed(dsn, schema=schema, directory=repo_root() / "migrations" / "cost-ledger")
    env = {**os.environ, "REX_ENV": "test", "REX_LOG_LEVEL": "WARNING",
           "REX_KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "REX_JWT_SECRET": jwt_secret,
           "REX_LEDGER_DATABASE_URL": dsn, "REX_LEDGER_DB_SCHEMA": schema,
           "REX_LEDGER_PORT": str(free_port()), "REX_LEDGER_CALLS_TOPIC": calls_topic,
           "REX_LEDGER_COST_TOPIC": cost_topic, "REX_LEDGER_CONSUMER_MAX_RECORDS": "200",
           "REX_LEDGER_CONSUMER_SESSION_TIMEOUT_MS": "6000",
           "REX_LEDGER_CONSUMER_GROUP": f"ledger-kill-{secrets.token_hex(4)}"}  # fmt: skip
    ledger = Ledger(env, tmp_path / "ledger.log")
    events = _calls(f"org-{secrets.token_hex(4)}", EVENTS)
    db = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    await db.execute("SELECT set_config('app.rls_bypass', 'on', false)")
    kafka = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await kafka.start()

    async def produce() -> None:  # a steady stream, so the kill lands mid-stream
        for i, event in enumerate(events):
            key = str(event.call_id)
            out = cloudevents.build(event, source="test", event_id=key, key=key)
            await kafka.send(calls_topic, value=out.data, key=key.encode(), headers=out.headers())
            if i % 100 == 99:
                await asyncio.sleep(0.05)
        await kafka.flush()

    try:
        ledger.start()
        stream = asyncio.create_task(produce())
        rows = "SELECT count(*) FROM ledger_entries"
        await _wait(db, rows, EVENTS // 5, ledger)
        ledger.kill(signal.SIGKILL)
        killed_at = await _count(db, rows)
        ledger.start()
        await stream
        await _wait(db, rows, EVENTS, ledger)
        await _wait(db, "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", EVENTS,
                    ledger)  # fmt: skip
        ce_ids = await _ce_ids(infra.kafka_bootstrap, cost_topic)
    finally:
        ledger.kill(signal.SIGTERM)
        await kafka.stop()

    book, now = PriceBook(seed_rows(), ModelResolver()), datetime.now(UTC)
    expected = sum((entry_for("x", e, book, now=now).cost.total for e in events), Decimal(0))
    assert 0 < killed_at < EVENTS
    assert await _count(db, rows) == EVENTS == await _count(db, "SELECT count(*) FROM outbox")
    sums = await db.fetchrow(
        "SELECT (SELECT sum(total_cost) FROM ledger_entries) AS ledger,"
        " (SELECT sum(total_cost) FROM evaluation_costs) AS evaluations,"
        " (SELECT sum(calls) FROM evaluation_costs) AS calls,"
        " (SELECT sum(total_cost) FROM evaluation_metric_costs) AS metrics,"
        " (SELECT sum(total_cost) FROM daily_costs) AS daily,"
        " (SELECT sum(calls) FROM daily_costs) AS daily_calls"
    )
    assert (sums["ledger"], sums["evaluations"], sums["metrics"], sums["daily"]) == (expected,) * 4
    assert sums["calls"] == sums["daily_calls"] == EVENTS
    wanted = {str(uuid5(REX_NAMESPACE, f"cost:{e.call_id}")) for e in events}
    # The outbox relay is at-least-once: a record it sent just before the kill may be sent again
    # after the restart, with the same ce_id (consumers dedupe on it). Every call has exactly one
    # distinct cost event, and nothing else is on the topic.
    assert set(ce_ids) == wanted
    await db.close()
