"""Datasets: upload (JSON, JSONL or CSV), read, list; scoped to an organization."""

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from rex_shared.errors import Invalid, NotFound, TooLarge, Unsupported

from evaluator.domain import datasets as parse
from evaluator.domain.model import Dataset
from evaluator.ports import DatasetRepo

JSON_TYPES = ("application/json", "text/json")
JSONL_TYPES = (
    "application/jsonl",
    "application/x-ndjson",
    "application/ndjson",
    "application/x-jsonlines",
)
CSV_TYPES = ("text/csv", "application/csv")


def _items(media: str, body: bytes, name: str | None) -> tuple[str | None, list[Any]]:
    if media in JSON_TYPES:
        found, items = parse.parse_json(body)
        return name or found, items
    if media in JSONL_TYPES:
        return name, parse.parse_jsonl(body)
    if media in CSV_TYPES:
        return name, parse.parse_csv(body)
    raise Unsupported(
        "UNSUPPORTED_MEDIA_TYPE",
        "send application/json, application/x-ndjson (JSONL) or text/csv",
    )


async def upload_dataset(
    repo: DatasetRepo,
    *,
    org_id: str,
    user_id: str,
    upload: tuple[str, bytes, str | None],
    limits: tuple[int, int],
    now: datetime,
) -> Dataset:
    """Parse and store an upload of (media type, body, name) within (max bytes, max rows)."""
    media, body, name = upload
    max_bytes, max_rows = limits
    if len(body) > max_bytes:
        raise TooLarge("PAYLOAD_TOO_LARGE", f"a dataset is at most {max_bytes} bytes")
    try:
        found_name, items = _items(media, body, name)
        rows = parse.rows_from(items, parse.Limits(max_rows=max_rows))
    except parse.DatasetError as exc:
        raise Invalid("INVALID_DATASET", str(exc), {"errors": exc.errors}) from exc
    name = (found_name or "dataset")[:200]
    dataset = Dataset(uuid4(), org_id, user_id, name, len(rows), len(body), now, rows)
    await repo.create(dataset)
    return dataset


async def get_dataset(repo: DatasetRepo, org_id: str, dataset_id: str, *, rows: bool) -> Dataset:
    """The dataset (with its rows when asked); a malformed id names none."""
    try:
        found = await repo.get(org_id, UUID(dataset_id), with_rows=rows)
    except ValueError:
        found = None
    if found is None:
        raise NotFound("dataset")
    return found
