"""The channels table: org-scoped CRUD for the API, trusted reads for routing and sending."""

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from cryptography.exceptions import InvalidTag
from rex_shared.crypto import SecretBox, last4

from notifier.adapters.pg import Conn, org_tx, trusted_tx
from notifier.domain.channels import AnySpec, RateLimit, Rule, StoredChannel
from notifier.domain.routing import Target
from notifier.ports import ChannelKindChanged, ChannelNameTaken, SecretsUnreadable

_COLUMNS = (
    "id, org_id, kind, name, enabled, config, rules, rate_per_s, rate_burst, secret_hints,"
    " created_at, updated_at"
)

_INSERT = f"""
INSERT INTO channels (id, org_id, kind, name, enabled, config, rules, rate_per_s, rate_burst,
                      secret, secret_hints)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11::jsonb)
RETURNING {_COLUMNS}
"""

_UPDATE = f"""
UPDATE channels SET name = $2, enabled = $3, config = $4::jsonb, rules = $5::jsonb,
    rate_per_s = $6, rate_burst = $7, secret = COALESCE($8, secret),
    secret_hints = COALESCE($9::jsonb, secret_hints), updated_at = clock_timestamp()
WHERE id = $1
RETURNING {_COLUMNS}
"""

_PAGE = f"""
SELECT {_COLUMNS} FROM channels
WHERE ($1::text IS NULL OR kind = $1)
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $4
"""

# Deleting a channel ends what was still waiting for it, so no row stays pending forever.
_ORPHANS = """
UPDATE deliveries SET status = 'dead', last_error = 'channel deleted', updated_at = now()
WHERE channel_id = $1 AND status IN ('pending', 'failed')
"""


def _context(channel_id: UUID, org_id: str | None) -> str:
    # Bound into the ciphertext: a secret copied to another row or org does not decrypt.
    return f"notifier.channel:{channel_id}:{org_id or '*'}"


def to_channel(row: asyncpg.Record) -> StoredChannel:
    """A table row as a StoredChannel."""
    return StoredChannel(
        id=row["id"],
        org_id=row["org_id"],
        kind=row["kind"],
        name=row["name"],
        enabled=row["enabled"],
        config=json.loads(row["config"]),
        rules=tuple(Rule.model_validate(r) for r in json.loads(row["rules"])),
        rate=RateLimit(per_second=row["rate_per_s"], burst=row["rate_burst"]),
        secret_hints=json.loads(row["secret_hints"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class PgChannels:
    """Channels in PostgreSQL, secrets sealed with the SecretBox."""

    def __init__(
        self, pool: asyncpg.Pool, box: SecretBox, *, worker_pool: asyncpg.Pool | None = None
    ) -> None:
        # Org-scoped CRUD on the request role's pool; routing and sending (every org) on the
        # worker role's.
        self._pool, self._box, self._worker = pool, box, worker_pool or pool

    def _seal(
        self, channel_id: UUID, org_id: str | None, secrets: dict[str, str] | None
    ) -> tuple[bytes | None, str | None]:
        if secrets is None:
            return None, None
        present = {k: v for k, v in secrets.items() if v}
        blob = self._box.encrypt(json.dumps(present), context=_context(channel_id, org_id))
        return blob, json.dumps({k: last4(v) for k, v in present.items()})

    def _values(self, spec: AnySpec, rate: RateLimit) -> list[Any]:
        rules = json.dumps([r.model_dump(mode="json") for r in spec.rules])
        config = json.dumps(spec.config.model_dump(mode="json"))
        return [spec.name, spec.enabled, config, rules, rate.per_second, rate.burst]

    async def create(
        self, *, org_id: str, spec: AnySpec, rate: RateLimit, secrets: dict[str, str]
    ) -> StoredChannel:
        """Insert a channel; ChannelNameTaken when the org already has that name."""
        channel_id = uuid4()
        blob, hints = self._seal(channel_id, org_id, secrets)
        name, enabled, config, rules, per_s, burst = self._values(spec, rate)
        args = [channel_id, org_id, spec.kind, name, enabled, config, rules, per_s, burst]
        try:
            async with org_tx(self._pool, org_id) as conn:
                row = await conn.fetchrow(_INSERT, *args, blob, hints or "{}")
        except asyncpg.UniqueViolationError as exc:
            raise ChannelNameTaken(spec.name) from exc
        assert row is not None
        return to_channel(row)

    async def page(
        self, *, org_id: str, kind: str | None, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[StoredChannel]:
        """The org's channels, newest first, after the cursor position."""
        created, row_id = after if after else (None, None)
        async with org_tx(self._pool, org_id) as conn:
            rows = await conn.fetch(_PAGE, kind, created, row_id, limit)
        return [to_channel(r) for r in rows]

    async def get(self, *, org_id: str, channel_id: UUID) -> StoredChannel | None:
        """One channel of the org, or None (another org's channel is None too)."""
        async with org_tx(self._pool, org_id) as conn:
            row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM channels WHERE id = $1", channel_id)
        return to_channel(row) if row else None

    async def update(
        self,
        *,
        org_id: str,
        channel_id: UUID,
        spec: AnySpec,
        rate: RateLimit,
        secrets: dict[str, str] | None,
    ) -> StoredChannel | None:
        """Replace a channel's settings; secrets None keeps the stored ones."""
        blob, hints = self._seal(channel_id, org_id, secrets)
        try:
            async with org_tx(self._pool, org_id) as conn:
                kind = await conn.fetchval(
                    "SELECT kind FROM channels WHERE id = $1 FOR UPDATE", channel_id
                )
                if kind is None:
                    return None
                if kind != spec.kind:
                    raise ChannelKindChanged(kind)
                row = await conn.fetchrow(
                    _UPDATE, channel_id, *self._values(spec, rate), blob, hints
                )
        except asyncpg.UniqueViolationError as exc:
            raise ChannelNameTaken(spec.name) from exc
        return to_channel(row) if row else None

    async def delete(self, *, org_id: str, channel_id: UUID) -> bool:
        """Delete a channel; its waiting deliveries become dead. False when not found."""
        async with org_tx(self._pool, org_id) as conn:
            await conn.execute(_ORPHANS, channel_id)
            deleted = await conn.fetchval(
                "DELETE FROM channels WHERE id = $1 RETURNING id", channel_id
            )
        return deleted is not None

    async def with_secrets(
        self, *, org_id: str, channel_id: UUID
    ) -> tuple[StoredChannel, dict[str, str]] | None:
        """A channel of the org and its decrypted secrets (for a test send)."""
        async with org_tx(self._pool, org_id) as conn:
            return await self._with_secrets(conn, channel_id)

    async def load(self, channel_id: UUID) -> tuple[StoredChannel, dict[str, str]] | None:
        """Any org's channel and its decrypted secrets (the delivery worker)."""
        async with trusted_tx(self._worker) as conn:
            return await self._with_secrets(conn, channel_id)

    async def _with_secrets(
        self, conn: Conn, channel_id: UUID
    ) -> tuple[StoredChannel, dict[str, str]] | None:
        row = await conn.fetchrow(
            f"SELECT {_COLUMNS}, secret FROM channels WHERE id = $1", channel_id
        )
        if row is None:
            return None
        channel = to_channel(row)
        if row["secret"] is None:
            return channel, {}
        try:
            plain = self._box.decrypt(
                bytes(row["secret"]), context=_context(row["id"], row["org_id"])
            )
        except (ValueError, InvalidTag) as exc:
            raise SecretsUnreadable(str(channel.id)) from exc
        secrets: dict[str, str] = json.loads(plain)
        return channel, secrets

    async def targets(self, org_ids: Sequence[str]) -> dict[str, list[Target]]:
        """Every channel of these orgs (enabled or not) as routing targets."""
        async with trusted_tx(self._worker) as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM channels WHERE org_id = ANY($1::text[])", list(org_ids)
            )
        found: dict[str, list[Target]] = defaultdict(list)
        for channel in map(to_channel, rows):
            assert channel.org_id is not None
            found[channel.org_id].append(
                Target(channel.key, channel.kind, channel.id, channel.enabled, channel.rules)
            )
        return found
