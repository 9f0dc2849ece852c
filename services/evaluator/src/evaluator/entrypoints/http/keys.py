"""`/api/v1/provider-keys`: an organization's own provider API keys. Admins write, admins and
viewers list; the key itself never leaves (only its last four characters)."""

from typing import Any, Literal

from fastapi import APIRouter
from rex_shared.api import documented, ok
from rex_shared.auth import require_role

from evaluator.bootstrap import Deps
from evaluator.entrypoints.http.deps import DepsDep, PrincipalDep
from evaluator.entrypoints.http.replies import KeyDeleted, KeyList, KeyOut, KeysRotated
from evaluator.entrypoints.http.schemas import ProviderKeyIn
from evaluator.entrypoints.http.views import key_deleted_view, key_view, keys_view, rotated_view
from evaluator.handlers.keys import delete_key as remove_key
from evaluator.handlers.keys import put_key as store_key
from evaluator.ports import KeyRepo

Provider = Literal["openai", "anthropic"]

router = APIRouter(prefix="/api/v1/provider-keys", tags=["provider-keys"])


def _keys(d: Deps) -> KeyRepo:
    if d.keys is None:
        raise RuntimeError("provider keys are not configured")
    return d.keys


@router.get("", **documented(KeyList))
async def list_keys(who: PrincipalDep, d: DepsDep) -> Any:
    require_role(who, "admin", "viewer")
    return ok(keys_view(await _keys(d).list(who.org_id)))


@router.post("/rotate", **documented(KeysRotated))
async def rotate(who: PrincipalDep, d: DepsDep) -> Any:
    require_role(who, "admin")
    return ok(rotated_view(await _keys(d).rotate(who.org_id)))


@router.put("/{provider}", **documented(KeyOut))
async def put_key(provider: Provider, body: ProviderKeyIn, who: PrincipalDep, d: DepsDep) -> Any:
    require_role(who, "admin")
    info = await store_key(
        _keys(d), d.on_key_change, who.org_id, provider, body.api_key, by=who.sub
    )
    return ok(key_view(info))


@router.delete("/{provider}", **documented(KeyDeleted))
async def delete_key(provider: Provider, who: PrincipalDep, d: DepsDep) -> Any:
    require_role(who, "admin")
    await remove_key(_keys(d), d.on_key_change, who.org_id, provider)
    return ok(key_deleted_view(provider))
