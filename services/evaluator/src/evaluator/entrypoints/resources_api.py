"""`/api/v1/datasets` (JSON, JSONL or CSV uploads) and `/api/v1/provider-keys` (admin)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from rex_shared import cursors
from rex_shared.api import APIError, NotFound, documented, ok
from rex_shared.auth import Principal, require_role

from evaluator.adapters.dataset_repo import Dataset, PgDatasetRepo
from evaluator.adapters.key_repo import PgKeyRepo
from evaluator.domain import datasets as parse
from evaluator.entrypoints.api import ApiDeps
from evaluator.entrypoints.replies import (
    DatasetDetail,
    DatasetOut,
    DatasetPage,
    KeyDeleted,
    KeyList,
    KeyOut,
    KeysRotated,
)
from evaluator.entrypoints.schemas import ProviderKeyIn
from evaluator.entrypoints.views import (
    dataset_view,
    key_deleted_view,
    key_view,
    keys_view,
    page_view,
    rotated_view,
)

Provider = Literal["openai", "anthropic"]


def _media(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


def _items(media: str, body: bytes, name: str | None) -> tuple[str | None, list[Any]]:
    if media in ("application/json", "text/json"):
        found, items = parse.parse_json(body)
        return name or found, items
    if media in (
        "application/jsonl",
        "application/x-ndjson",
        "application/ndjson",
        "application/x-jsonlines",
    ):
        return name, parse.parse_jsonl(body)
    if media in ("text/csv", "application/csv"):
        return name, parse.parse_csv(body)
    raise APIError(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "send application/json, application/x-ndjson (JSONL) or text/csv",
    )


def _repo(d: ApiDeps) -> PgDatasetRepo:
    if d.datasets is None:
        raise RuntimeError("datasets are not configured")
    return d.datasets


def _keys(d: ApiDeps) -> PgKeyRepo:
    if d.keys is None:
        raise RuntimeError("provider keys are not configured")
    return d.keys


def datasets_router(
    deps: Callable[[], ApiDeps], principal: Callable[..., Any], max_bytes: int
) -> APIRouter:
    """Upload and read datasets; every member of the org may read them (they are inputs)."""
    router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
    caller = Depends(principal)

    @router.post("", status_code=201, **documented(DatasetOut, status=201))
    async def upload(
        request: Request,
        who: Principal = caller,
        name: str | None = Query(None, min_length=1, max_length=200),
    ) -> JSONResponse:
        require_role(who, "admin", "member")
        d, body = deps(), await request.body()
        if len(body) > max_bytes:
            raise APIError(413, "PAYLOAD_TOO_LARGE", f"a dataset is at most {max_bytes} bytes")
        try:
            found_name, items = _items(_media(request), body, name)
            rows = parse.rows_from(items, parse.Limits(max_rows=d.max_rows))
        except parse.DatasetError as exc:
            raise APIError(422, "INVALID_DATASET", str(exc), {"errors": exc.errors}) from exc
        dataset = Dataset(
            uuid4(),
            who.org_id,
            who.sub,
            (found_name or "dataset")[:200],
            len(rows),
            len(body),
            datetime.now(UTC),
            rows,
        )
        await _repo(d).create(dataset)
        return JSONResponse(ok(dataset_view(dataset)), 201)

    @router.get("", **documented(DatasetPage))
    async def list_datasets(
        who: Principal = caller,
        limit: int = Query(20, ge=1, le=100),
        cursor: str | None = Query(None, max_length=200),
    ) -> Any:
        after = cursors.decode(cursor)
        items = await _repo(deps()).list(who.org_id, limit, after)
        last = items[-1] if len(items) == limit else None
        next_cursor = cursors.encode(last.created_at, last.id) if last else None
        return ok(page_view([dataset_view(i) for i in items], next_cursor))

    @router.get("/{dataset_id}", **documented(DatasetDetail))
    async def get_dataset(dataset_id: str, who: Principal = caller, rows: bool = True) -> Any:
        try:
            found = await _repo(deps()).get(who.org_id, UUID(dataset_id), with_rows=rows)
        except ValueError:
            found = None
        if found is None:
            raise NotFound("dataset")
        return ok(dataset_view(found, rows=rows))

    return router


def keys_router(deps: Callable[[], ApiDeps], principal: Callable[..., Any]) -> APIRouter:
    """An organization's own provider API keys: admins write, admins and viewers list; the key
    itself never leaves (only its last four characters)."""
    router = APIRouter(prefix="/api/v1/provider-keys", tags=["provider-keys"])
    caller = Depends(principal)

    @router.get("", **documented(KeyList))
    async def list_keys(who: Principal = caller) -> Any:
        require_role(who, "admin", "viewer")
        return ok(keys_view(await _keys(deps()).list(who.org_id)))

    @router.post("/rotate", **documented(KeysRotated))
    async def rotate(who: Principal = caller) -> Any:
        require_role(who, "admin")
        return ok(rotated_view(await _keys(deps()).rotate(who.org_id)))

    @router.put("/{provider}", **documented(KeyOut))
    async def put_key(provider: Provider, body: ProviderKeyIn, who: Principal = caller) -> Any:
        require_role(who, "admin")
        d = deps()
        info = await _keys(d).put(who.org_id, provider, body.api_key.strip(), by=who.sub)
        if d.on_key_change:
            d.on_key_change(who.org_id, provider)
        return ok(key_view(info))

    @router.delete("/{provider}", **documented(KeyDeleted))
    async def delete_key(provider: Provider, who: Principal = caller) -> Any:
        require_role(who, "admin")
        d = deps()
        if not await _keys(d).delete(who.org_id, provider):
            raise NotFound("provider key")
        if d.on_key_change:
            d.on_key_change(who.org_id, provider)
        return ok(key_deleted_view(provider))

    return router
