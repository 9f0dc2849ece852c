"""Datasets in PostgreSQL, scoped to an organization (row-level security)."""

import json
from datetime import datetime
from uuid import UUID

import asyncpg

from evaluator.adapters.pg import transaction
from evaluator.domain.model import Dataset, Row


def _row_json(row: Row) -> dict[str, object]:
    return {
        "question": row.question,
        "contexts": list(row.contexts),
        "answer": row.answer,
        "ground_truth": row.ground_truth,
    }


def _dataset(record: asyncpg.Record, with_rows: bool) -> Dataset:
    rows: tuple[Row, ...] = ()
    if with_rows:
        items = json.loads(record["rows"])
        rows = tuple(
            Row(i, r["question"], tuple(r["contexts"]), r["answer"], r.get("ground_truth"))
            for i, r in enumerate(items)
        )
    return Dataset(
        record["id"],
        record["org_id"],
        record["user_id"],
        record["name"],
        record["rows_total"],
        record["size_bytes"],
        record["created_at"],
        rows,
    )


_SUMMARY = "id, org_id, user_id, name, rows_total, size_bytes, created_at"


class PgDatasetRepo:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, dataset: Dataset) -> None:
        d = dataset
        async with transaction(self._pool, d.org_id) as conn:
            await conn.execute(
                "INSERT INTO datasets (id, org_id, user_id, name, rows_total, size_bytes, rows,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)",
                d.id,
                d.org_id,
                d.user_id,
                d.name,
                d.rows_total,
                d.size_bytes,
                json.dumps([_row_json(r) for r in d.rows]),
                d.created_at,
            )

    async def get(self, org_id: str, dataset_id: UUID, *, with_rows: bool) -> Dataset | None:
        columns = (
            "*" if with_rows else "id, org_id, user_id, name, rows_total, size_bytes, created_at"
        )
        async with transaction(self._pool, org_id) as conn:
            record = await conn.fetchrow(
                f"SELECT {columns} FROM datasets WHERE id = $1 AND org_id = $2", dataset_id, org_id
            )
        return None if record is None else _dataset(record, with_rows)

    async def list(
        self, org_id: str, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Dataset]:
        since, last = after if after else (None, None)
        async with transaction(self._pool, org_id) as conn:
            records = await conn.fetch(
                f"SELECT {_SUMMARY} FROM datasets WHERE org_id = $1"
                " AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))"
                " ORDER BY created_at DESC, id DESC LIMIT $4",
                org_id,
                since,
                last,
                limit,
            )
        return [_dataset(r, False) for r in records]
