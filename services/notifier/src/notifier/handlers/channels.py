"""Use cases of channels: create, change, delete and read an organization's channels."""

from uuid import UUID

from rex_shared.errors import Conflict, Invalid, NotFound

from notifier.domain.channels import (
    DEFAULT_RATES,
    AnySpec,
    RateLimit,
    StoredChannel,
    missing_secrets,
    plain_secrets,
    url_secrets,
)
from notifier.domain.validation import check_url
from notifier.ports import ChannelKindChanged, ChannelNameTaken, ChannelStore, Position


def _checked_secrets(spec: AnySpec, *, required: bool, https_only: bool) -> dict[str, str] | None:
    """The spec's secrets, refused when missing on create or when a URL is not allowed."""
    secrets = plain_secrets(spec)
    if secrets is None and not required:
        return None
    missing = missing_secrets(spec.kind, secrets or {})
    if missing:
        raise Invalid("SECRETS_REQUIRED", f"{spec.kind} channels need {missing}")
    for name in url_secrets(spec.kind):
        try:
            check_url((secrets or {})[name], https_only=https_only)
        except ValueError as exc:  # the message names the rule, never the URL
            raise Invalid("INVALID_URL", f"secrets.{name} {exc}") from None
    return secrets or {}


def _rate(spec: AnySpec) -> RateLimit:
    return spec.rate_limit or DEFAULT_RATES[spec.kind]


def _name_taken() -> Conflict:
    return Conflict("CHANNEL_NAME_TAKEN", "a channel with this name exists")


async def create_channel(
    spec: AnySpec, *, org_id: str, https_only: bool, channels: ChannelStore
) -> StoredChannel:
    """A new channel of the org, its secrets sealed; names are unique in an org."""
    secrets = _checked_secrets(spec, required=True, https_only=https_only) or {}
    try:
        return await channels.create(org_id=org_id, spec=spec, rate=_rate(spec), secrets=secrets)
    except ChannelNameTaken:
        raise _name_taken() from None


async def update_channel(
    spec: AnySpec, *, channel_id: UUID, org_id: str, https_only: bool, channels: ChannelStore
) -> StoredChannel:
    """Replace a channel's settings; without secrets the stored ones stay; the kind is fixed."""
    secrets = _checked_secrets(spec, required=False, https_only=https_only)
    try:
        updated = await channels.update(
            org_id=org_id, channel_id=channel_id, spec=spec, rate=_rate(spec), secrets=secrets
        )
    except ChannelNameTaken:
        raise _name_taken() from None
    except ChannelKindChanged as exc:
        raise Conflict("CHANNEL_KIND_CHANGED", f"the channel is {exc}") from None
    if updated is None:
        raise NotFound("channel")
    return updated


async def delete_channel(channel_id: UUID, *, org_id: str, channels: ChannelStore) -> None:
    """Remove a channel (what still waited for it is given up by the store)."""
    if not await channels.delete(org_id=org_id, channel_id=channel_id):
        raise NotFound("channel")


async def get_channel(channel_id: UUID, *, org_id: str, channels: ChannelStore) -> StoredChannel:
    """One channel of the org; another org's is not found."""
    found = await channels.get(org_id=org_id, channel_id=channel_id)
    if found is None:
        raise NotFound("channel")
    return found


async def list_channels(
    kind: str | None, *, org_id: str, limit: int, after: Position | None, channels: ChannelStore
) -> list[StoredChannel]:
    """Newest first, after the cursor position; `limit` rows at most."""
    return await channels.page(org_id=org_id, kind=kind, limit=limit, after=after)
