"""Idempotent consumption: an event id is processed at most once per schema."""

import asyncpg

# Migrations take this table with `-- rex:include inbox` (rex_shared.db.expand). The text is part
# of their checksums: change the table in a new migration, never here.
INBOX_DDL = """
CREATE TABLE IF NOT EXISTS processed_events (
    event_id TEXT PRIMARY KEY,
    topic TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
"""


async def claim(conn: asyncpg.Connection, event_id: str, topic: str) -> bool:
    """Record `event_id` inside the caller's transaction; False means it was seen before."""
    row = await conn.fetchval(
        "INSERT INTO processed_events (event_id, topic) VALUES ($1, $2)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING 1",
        event_id,
        topic,
    )
    return row is not None
