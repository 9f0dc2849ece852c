"""`/api/v1/datasets`: JSON, JSONL or CSV uploads; every member of the org may read them
(they are inputs)."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from rex_shared.api import documented, ok
from rex_shared.auth import require_role

from evaluator.bootstrap import Deps
from evaluator.entrypoints.http.deps import DepsDep, PageDep, PrincipalDep
from evaluator.entrypoints.http.replies import DatasetDetail, DatasetOut, DatasetPage
from evaluator.entrypoints.http.views import dataset_view, page_view
from evaluator.handlers.datasets import get_dataset as find_dataset
from evaluator.handlers.datasets import upload_dataset
from evaluator.ports import DatasetRepo

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])


def _media(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


def _repo(d: Deps) -> DatasetRepo:
    if d.datasets is None:
        raise RuntimeError("datasets are not configured")
    return d.datasets


@router.post("", status_code=201, **documented(DatasetOut, status=201))
async def upload(
    request: Request,
    who: PrincipalDep,
    d: DepsDep,
    name: str | None = Query(None, min_length=1, max_length=200),
) -> JSONResponse:
    require_role(who, "admin", "member")
    body = await request.body()
    dataset = await upload_dataset(
        _repo(d),
        org_id=who.org_id,
        user_id=who.sub,
        upload=(_media(request), body, name),
        limits=(d.max_body_bytes, d.max_rows),
        now=datetime.now(UTC),
    )
    return JSONResponse(ok(dataset_view(dataset)), 201)


@router.get("", **documented(DatasetPage))
async def list_datasets(who: PrincipalDep, d: DepsDep, page: PageDep) -> Any:
    items = await _repo(d).list(who.org_id, page.limit, page.after)
    next_cursor = page.next_cursor([(i.created_at, i.id) for i in items])
    return ok(page_view([dataset_view(i) for i in items], next_cursor))


@router.get("/{dataset_id}", **documented(DatasetDetail))
async def get_dataset(dataset_id: str, who: PrincipalDep, d: DepsDep, rows: bool = True) -> Any:
    found = await find_dataset(_repo(d), who.org_id, dataset_id, rows=rows)
    return ok(dataset_view(found, rows=rows))
