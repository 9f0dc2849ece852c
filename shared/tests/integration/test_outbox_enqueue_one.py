"""`enqueue_one`: one event in one statement, inside a transaction or on its own; the relay
wakes up for it and an id already there is kept as is."""

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
from rex_shared import cloudevents
from rex_shared.events import LlmCallCompleted, Usage
from rex_shared.outbox import OUTBOX_DDL, enqueue_one


def _event() -> LlmCallCompleted:
    now = datetime.now(UTC)
    return LlmCallCompleted(
        call_id=uuid4(), org_id="o", project_id="p", user_id="u", provider="openai",
        model="m", requested_model="m", api="chat.completions", started_at=now,
        completed_at=now, latency_ms=1, status="succeeded", usage=Usage(input_tokens=1),
    )  # fmt: skip


async def test_one_event_is_stored_once_and_wakes_the_relay(
    scratch_schema: tuple[str, str],
) -> None:
    schema, dsn = scratch_schema
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    listener = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    woken = asyncio.Event()
    try:
        await conn.execute(OUTBOX_DDL)
        await listener.add_listener(f"rex_outbox_{schema}", lambda *_: woken.set())
        event = cloudevents.build(_event(), source="t")
        await enqueue_one(conn, event, schema=schema)  # on its own: committed at once
        async with conn.transaction():
            await enqueue_one(conn, event, schema=schema)  # the same id again: kept as is
        await asyncio.wait_for(woken.wait(), timeout=5)
        rows = await conn.fetch("SELECT event_id, topic, key, payload FROM outbox")
        assert [(r["event_id"], r["topic"], bytes(r["payload"])) for r in rows] == [
            (event.id, event.topic, event.data)
        ]
    finally:
        await listener.close()
        await conn.close()
