"""The CloudEvents headers SQL writes into an outbox row are the ones Python writes."""

import json
from datetime import UTC, datetime

import asyncpg
from rex_shared import cloudevents
from rex_shared.cloudevents import OutgoingEvent


async def test_the_sql_headers_equal_the_kafka_headers(scratch_schema: tuple[str, str]) -> None:
    _, dsn = scratch_schema
    event = OutgoingEvent(
        id="it's-1",  # a quote, to show values travel as parameters
        topic="llm.cost.recorded",
        type="rex.llm.cost.recorded.v1",
        source="rex/cost-ledger",
        time=datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=UTC),
        key=None,
        data=b"{}",
    )
    headers = cloudevents.headers_sql(
        id="$1::text", source="$2::text", type="$3::text", time="$4::text"
    )
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchval(
            f"SELECT {headers}", event.id, event.source, event.type, event.time.isoformat()
        )
    finally:
        await conn.close()
    assert json.loads(row) == {name: value.decode() for name, value in event.headers()}
