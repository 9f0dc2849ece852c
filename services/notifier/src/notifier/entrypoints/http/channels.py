"""HTTP API of channels: CRUD with routing rules and pacing (viewers read, admins write)."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Body
from rex_shared import cursors
from rex_shared.api import Envelope, ok
from rex_shared.auth import require_role

from notifier.domain.channels import ChannelSpec, Kind
from notifier.entrypoints.http.deps import DepsDep, PrincipalDep
from notifier.entrypoints.http.schemas import Cursor, Limit
from notifier.entrypoints.http.views import ChannelOut, ChannelPage, Deleted, channel_view
from notifier.handlers import channels

router = APIRouter(prefix="/channels")


@router.post("", status_code=201, response_model=Envelope[ChannelOut])
async def create_channel(
    principal: PrincipalDep, deps: DepsDep, spec: ChannelSpec = Body()
) -> dict[str, Any]:
    require_role(principal, "admin")
    created = await channels.create_channel(
        spec,
        org_id=principal.org_id,
        https_only=deps.https_targets_only,
        channels=deps.channels,
    )
    return ok(channel_view(created))


@router.put("/{channel_id}", response_model=Envelope[ChannelOut])
async def update_channel(
    channel_id: UUID, principal: PrincipalDep, deps: DepsDep, spec: ChannelSpec = Body()
) -> dict[str, Any]:
    require_role(principal, "admin")
    updated = await channels.update_channel(
        spec,
        channel_id=channel_id,
        org_id=principal.org_id,
        https_only=deps.https_targets_only,
        channels=deps.channels,
    )
    return ok(channel_view(updated))


@router.delete("/{channel_id}", response_model=Envelope[Deleted])
async def delete_channel(
    channel_id: UUID, principal: PrincipalDep, deps: DepsDep
) -> dict[str, Any]:
    require_role(principal, "admin")
    await channels.delete_channel(channel_id, org_id=principal.org_id, channels=deps.channels)
    return ok({"id": str(channel_id), "deleted": True})


@router.get("", response_model=Envelope[ChannelPage])
async def list_channels(
    principal: PrincipalDep,
    deps: DepsDep,
    kind: Kind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    require_role(principal, "admin", "viewer", "service")
    rows = await channels.list_channels(
        kind,
        org_id=principal.org_id,
        limit=limit + 1,
        after=cursors.decode(cursor),
        channels=deps.channels,
    )
    page, next_cursor = cursors.cut(rows, limit, lambda c: (c.created_at, c.id))
    return ok({"items": [channel_view(c) for c in page], "next_cursor": next_cursor})


@router.get("/{channel_id}", response_model=Envelope[ChannelOut])
async def get_channel(channel_id: UUID, principal: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
    require_role(principal, "admin", "viewer", "service")
    found = await channels.get_channel(channel_id, org_id=principal.org_id, channels=deps.channels)
    return ok(channel_view(found))
