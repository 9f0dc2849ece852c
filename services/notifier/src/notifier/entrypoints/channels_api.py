"""HTTP API of channels: CRUD with routing rules and pacing (viewers read, admins write)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel
from rex_shared import cursors
from rex_shared.api import APIError, Envelope, NotFound, ok
from rex_shared.auth import Principal, require_role

from notifier.adapters.channels_repo import (
    ChannelKindChanged,
    ChannelNameTaken,
    PgChannels,
)
from notifier.domain.channels import (
    DEFAULT_RATES,
    AnySpec,
    ChannelSpec,
    Kind,
    RateLimit,
    Rule,
    StoredChannel,
    missing_secrets,
    plain_secrets,
    url_secrets,
)
from notifier.domain.validation import check_url
from notifier.entrypoints.channel_test_api import add_test_route
from notifier.entrypoints.deps import Caller, state


class ChannelOut(BaseModel):
    """A channel as the API shows it: secrets only as their last four characters."""

    id: UUID
    name: str
    kind: Kind
    enabled: bool
    config: dict[str, Any]
    secrets: dict[str, str]
    rules: list[Rule]
    rate_limit: RateLimit
    created_at: datetime
    updated_at: datetime


class ChannelPage(BaseModel):
    items: list[ChannelOut]
    next_cursor: str | None


class Deleted(BaseModel):
    id: UUID
    deleted: bool


def _out(channel: StoredChannel) -> dict[str, Any]:
    return ChannelOut(
        id=channel.id,
        name=channel.name,
        kind=channel.kind,
        enabled=channel.enabled,
        config=channel.config,
        secrets=channel.secret_hints,
        rules=list(channel.rules),
        rate_limit=channel.rate,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    ).model_dump(mode="json")


def _checked_secrets(request: Request, spec: AnySpec, *, required: bool) -> dict[str, str] | None:
    """The spec's secrets, refused (422) when missing on create or when a URL is not allowed."""
    secrets = plain_secrets(spec)
    if secrets is None and not required:
        return None
    missing = missing_secrets(spec.kind, secrets or {})
    if missing:
        raise APIError(422, "SECRETS_REQUIRED", f"{spec.kind} channels need {missing}")
    https_only: bool = state(request, "https_targets_only")
    for name in url_secrets(spec.kind):
        try:
            check_url((secrets or {})[name], https_only=https_only)
        except ValueError as exc:  # the message names the rule, never the URL
            raise APIError(422, "INVALID_URL", f"secrets.{name} {exc}") from None
    return secrets or {}


def _rate(spec: AnySpec) -> RateLimit:
    return spec.rate_limit or DEFAULT_RATES[spec.kind]


def repo(request: Request) -> PgChannels:
    """The channels repository of the running app."""
    channels: PgChannels = state(request, "channels")
    return channels


def build_channels_router(caller: Caller) -> APIRouter:
    """`/api/v1/notifications/channels`: viewers read, admins write and test."""
    router = APIRouter(prefix="/channels")
    _writes(router, caller)
    _reads(router, caller)
    add_test_route(router, caller)
    return router


def _writes(router: APIRouter, caller: Caller) -> None:
    @router.post("", status_code=201, response_model=Envelope[ChannelOut])
    async def create_channel(
        request: Request,
        spec: ChannelSpec = Body(),
        principal: Principal = Depends(caller),
    ) -> dict[str, Any]:
        require_role(principal, "admin")
        secrets = _checked_secrets(request, spec, required=True) or {}
        try:
            created = await repo(request).create(
                org_id=principal.org_id, spec=spec, rate=_rate(spec), secrets=secrets
            )
        except ChannelNameTaken:
            raise APIError(409, "CHANNEL_NAME_TAKEN", "a channel with this name exists") from None
        return ok(_out(created))

    _update_and_delete(router, caller)


def _reads(router: APIRouter, caller: Caller) -> None:
    @router.get("", response_model=Envelope[ChannelPage])
    async def list_channels(
        request: Request,
        kind: Kind | None = None,
        limit: int = Query(50, ge=1, le=200),
        cursor: str | None = Query(None, max_length=500),
        principal: Principal = Depends(caller),
    ) -> dict[str, Any]:
        require_role(principal, "admin", "viewer", "service")
        rows = await repo(request).page(
            org_id=principal.org_id, kind=kind, limit=limit + 1, after=cursors.decode(cursor)
        )
        page, next_cursor = cursors.cut(rows, limit, lambda c: (c.created_at, c.id))
        return ok({"items": [_out(c) for c in page], "next_cursor": next_cursor})

    @router.get("/{channel_id}", response_model=Envelope[ChannelOut])
    async def get_channel(
        request: Request, channel_id: UUID, principal: Principal = Depends(caller)
    ) -> dict[str, Any]:
        require_role(principal, "admin", "viewer", "service")
        found = await repo(request).get(org_id=principal.org_id, channel_id=channel_id)
        if found is None:
            raise NotFound("channel")
        return ok(_out(found))


def _update_and_delete(router: APIRouter, caller: Caller) -> None:
    @router.put("/{channel_id}", response_model=Envelope[ChannelOut])
    async def update_channel(
        request: Request,
        channel_id: UUID,
        spec: ChannelSpec = Body(),
        principal: Principal = Depends(caller),
    ) -> dict[str, Any]:
        require_role(principal, "admin")
        secrets = _checked_secrets(request, spec, required=False)
        try:
            updated = await repo(request).update(
                org_id=principal.org_id,
                channel_id=channel_id,
                spec=spec,
                rate=_rate(spec),
                secrets=secrets,
            )
        except ChannelNameTaken:
            raise APIError(409, "CHANNEL_NAME_TAKEN", "a channel with this name exists") from None
        except ChannelKindChanged as exc:
            raise APIError(409, "CHANNEL_KIND_CHANGED", f"the channel is {exc}") from None
        if updated is None:
            raise NotFound("channel")
        return ok(_out(updated))

    @router.delete("/{channel_id}", response_model=Envelope[Deleted])
    async def delete_channel(
        request: Request, channel_id: UUID, principal: Principal = Depends(caller)
    ) -> dict[str, Any]:
        require_role(principal, "admin")
        if not await repo(request).delete(org_id=principal.org_id, channel_id=channel_id):
            raise NotFound("channel")
        return ok({"id": str(channel_id), "deleted": True})
