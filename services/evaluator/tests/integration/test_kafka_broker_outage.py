"""Our own Kafka broker stopped while evaluations run: events wait in the outbox and all of
them reach the broker once it is back, each exactly once. The test tier stops the broker for
a few seconds (REX_TEST_KAFKA_OUTAGE_S, default 3); bench/evaluator_kafka_outage.py holds it
down for a full minute."""

import asyncio
import os
from collections.abc import Callable
from typing import Any
from uuid import UUID

import evaluator_peers as peers
import pytest
from aiokafka import AIOKafkaConsumer
from rex_shared import topics
from rex_shared.kafka import ensure_topics

Fixture = Callable[..., Any]
OUTAGE_S = float(os.environ.get("REX_TEST_KAFKA_OUTAGE_S", "3"))
ANSWER = "The tower was completed in 1889. It is in Paris."
ROWS = [{"question": f"Q{i}?", "contexts": [ANSWER], "answer": ANSWER} for i in range(3)]


@pytest.fixture
async def kafka(own_kafka: peers.OwnKafka) -> peers.OwnKafka:
    """The session's own broker, started (in the background since the session began)."""
    if own_kafka.starting is not None:
        await asyncio.to_thread(own_kafka.starting.join)
    await ensure_topics(own_kafka.bootstrap, topics.ALL_TOPICS, partitions=1)
    return own_kafka


async def _pending(fetch: Fixture, dsn: str, evaluation_id: str) -> int:
    sql = ("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
           " AND convert_from(payload, 'UTF8') LIKE $1")  # fmt: skip
    rows = await fetch(dsn, sql, f"%{evaluation_id}%")
    return int(rows[0]["n"])


async def _until(check: Callable[[], Any], timeout_s: float = 90.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


async def _published_ids(bootstrap: str, topic: str) -> list[str]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=3000)
        return [dict(r.headers)["ce_id"].decode() for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()


async def test_a_stopped_broker_delays_events_and_loses_none(
    kafka: peers.OwnKafka,
    serve_evaluator: Fixture,
    auth_headers: Fixture,
    wait_finished: Fixture,
    fetch: Fixture,
    org: str,
) -> None:
    headers = auth_headers(org)
    body = {"project_id": "p", "metrics": ["faithfulness"], "rows": ROWS}
    async with serve_evaluator(kafka_bootstrap=kafka.bootstrap) as app:
        before = (await app.http.post("/api/v1/evaluations", json=body, headers=headers)).json()
        await wait_finished(app.http, before["data"]["id"], headers)
        await _until(lambda: _zero(fetch, app.dsn, before["data"]["id"]))
        await asyncio.to_thread(kafka.stop)
        during = (await app.http.post("/api/v1/evaluations", json=body, headers=headers)).json()
        during_id = during["data"]["id"]
        assert (await wait_finished(app.http, during_id, headers))["status"] == "completed"
        await asyncio.sleep(OUTAGE_S)  # the outage lasts this long
        assert await _pending(fetch, app.dsn, during_id) == 7  # 6 calls and the completion
        await asyncio.to_thread(kafka.start)
        await _until(lambda: _zero(fetch, app.dsn, during_id))
    calls = await fetch(app.dsn, "SELECT call_id FROM llm_calls WHERE evaluation_id = $1",
                        UUID(during_id))  # fmt: skip
    published = await _published_ids(kafka.bootstrap, topics.LLM_CALL_COMPLETED)
    expected = {str(c["call_id"]) for c in calls}
    assert len(expected) == 6 and expected <= set(published)
    assert all(published.count(i) == 1 for i in expected)  # delayed, not lost, not doubled


async def _zero(fetch: Fixture, dsn: str, evaluation_id: str) -> bool:
    return await _pending(fetch, dsn, evaluation_id) == 0
