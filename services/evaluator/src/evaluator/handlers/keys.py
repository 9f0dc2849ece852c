"""An organization's own provider API keys: store, remove; the cached clients forget them."""

from collections.abc import Callable

from rex_shared.errors import NotFound

from evaluator.domain.model import KeyInfo
from evaluator.ports import KeyRepo

KeyChanged = Callable[[str, str], None]  # (org, provider): drop the client made with the old key


async def put_key(
    keys: KeyRepo, changed: KeyChanged | None, org_id: str, provider: str, key: str, *, by: str
) -> KeyInfo:
    """Store (or replace) the organization's key for `provider`."""
    info = await keys.put(org_id, provider, key.strip(), by=by)
    if changed:
        changed(org_id, provider)
    return info


async def delete_key(keys: KeyRepo, changed: KeyChanged | None, org_id: str, provider: str) -> None:
    """Remove the organization's key for `provider`."""
    if not await keys.delete(org_id, provider):
        raise NotFound("provider key")
    if changed:
        changed(org_id, provider)
