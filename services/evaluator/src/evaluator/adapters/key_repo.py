"""Organizations' provider API keys, sealed with AES-256-GCM; only the last four characters
are ever shown. The ciphertext is bound to (org, provider), so a copied row does not open."""

import asyncpg
from rex_shared.crypto import SecretBox, last4

from evaluator.adapters.pg import transaction
from evaluator.domain.model import KeyInfo


def context(org_id: str, provider: str) -> str:
    return f"rex/evaluator/provider-key/{org_id}/{provider}"


def _info(r: asyncpg.Record) -> KeyInfo:
    return KeyInfo(r["provider"], r["last4"], r["kek_id"], r["updated_by"], r["updated_at"])


class PgKeyRepo:
    def __init__(self, pool: asyncpg.Pool, box: SecretBox) -> None:
        self._pool, self._box = pool, box

    async def put(self, org_id: str, provider: str, key: str, *, by: str) -> KeyInfo:
        sealed = self._box.encrypt(key, context=context(org_id, provider))
        async with transaction(self._pool, org_id) as conn:
            record = await conn.fetchrow(
                "INSERT INTO provider_keys (org_id, provider, ciphertext, kek_id, last4,"
                " updated_by)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, provider) DO UPDATE SET"
                " ciphertext = $3, kek_id = $4, last4 = $5, updated_by = $6, updated_at = now()"
                " RETURNING *",
                org_id,
                provider,
                sealed,
                self._box.primary_key_id,
                last4(key),
                by,
            )
        assert record is not None
        return _info(record)

    async def list(self, org_id: str) -> list[KeyInfo]:
        async with transaction(self._pool, org_id) as conn:
            records = await conn.fetch(
                "SELECT * FROM provider_keys WHERE org_id = $1 ORDER BY provider", org_id
            )
        return [_info(r) for r in records]

    async def delete(self, org_id: str, provider: str) -> bool:
        async with transaction(self._pool, org_id) as conn:
            gone = await conn.fetchval(
                "DELETE FROM provider_keys WHERE org_id = $1 AND provider = $2 RETURNING 1",
                org_id,
                provider,
            )
        return bool(gone)

    async def secret(self, org_id: str, provider: str) -> str | None:
        """The plaintext key for calling the provider (never returned by the API)."""
        async with transaction(self._pool, org_id) as conn:
            sealed = await conn.fetchval(
                "SELECT ciphertext FROM provider_keys WHERE org_id = $1 AND provider = $2",
                org_id,
                provider,
            )
        return (
            None
            if sealed is None
            else self._box.decrypt(bytes(sealed), context=context(org_id, provider))
        )

    async def rotate(self, org_id: str) -> int:
        """Re-encrypt the org's keys sealed under an older KEK with the primary one."""
        rotated = 0
        async with transaction(self._pool, org_id) as conn:
            records = await conn.fetch(
                "SELECT provider, ciphertext FROM provider_keys WHERE org_id = $1 AND kek_id <> $2"
                " FOR UPDATE",
                org_id,
                self._box.primary_key_id,
            )
            for r in records:
                sealed = self._box.rotate(
                    bytes(r["ciphertext"]), context=context(org_id, r["provider"])
                )
                await conn.execute(
                    "UPDATE provider_keys SET ciphertext = $3, kek_id = $4, updated_at = now()"
                    " WHERE org_id = $1 AND provider = $2",
                    org_id,
                    r["provider"],
                    sealed,
                    self._box.primary_key_id,
                )
                rotated += 1
        return rotated
