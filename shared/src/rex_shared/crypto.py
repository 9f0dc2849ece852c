"""Secrets at rest: AES-256-GCM under key-encryption keys from the environment, with rotation.

`REX_KEKS="k2:<base64 32 bytes>,k1:<base64 32 bytes>"`: the first key encrypts, every key
decrypts, so rotating is "add a new first key, re-encrypt, drop the old one".
"""

import base64
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class SecretBox:
    """Encrypts small secrets (API keys, webhook URLs, passwords) bound to a context string."""

    def __init__(self, keks: str) -> None:
        self._keys: dict[str, AESGCM] = {}
        self._primary = ""
        for item in (k.strip() for k in keks.split(",") if k.strip()):
            key_id, _, material = item.partition(":")
            raw = base64.b64decode(material)
            if not key_id or len(raw) != 32:
                raise ValueError("each KEK must be <id>:<base64 of 32 bytes>")
            self._keys[key_id] = AESGCM(raw)
            self._primary = self._primary or key_id
        if not self._keys:
            raise ValueError("at least one key-encryption key is required (REX_KEKS)")

    @property
    def primary_key_id(self) -> str:
        return self._primary

    def encrypt(self, plaintext: str, *, context: str) -> bytes:
        """Ciphertext with version, key id and nonce; `context` (e.g. org and purpose) is
        authenticated, so a ciphertext copied to another row does not decrypt."""
        nonce = os.urandom(12)
        sealed = self._keys[self._primary].encrypt(nonce, plaintext.encode(), context.encode())
        key_id = self._primary.encode()
        return _VERSION + bytes([len(key_id)]) + key_id + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """The plaintext, or ValueError when the blob is foreign, tampered or its key is gone."""
        if not blob or blob[:1] != _VERSION:
            raise ValueError("not a REX secret")
        n = blob[1]
        key_id = blob[2 : 2 + n].decode()
        nonce, sealed = blob[2 + n : 14 + n], blob[14 + n :]
        if key_id not in self._keys:
            raise ValueError(f"key {key_id!r} is not configured")
        try:
            return self._keys[key_id].decrypt(nonce, sealed, context.encode()).decode()
        except InvalidTag as exc:
            raise ValueError("secret does not decrypt (tampered, or another context)") from exc

    def key_id_of(self, blob: bytes) -> str:
        """Which KEK sealed `blob` (to find what needs re-encrypting)."""
        return blob[2 : 2 + blob[1]].decode()

    def rotate(self, blob: bytes, *, context: str) -> bytes:
        """Re-encrypt under the primary key."""
        return self.encrypt(self.decrypt(blob, context=context), context=context)


def new_kek(key_id: str = "k1") -> str:
    """A fresh KEK entry for REX_KEKS."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def last4(secret: str) -> str:
    """What the API may show of a secret."""
    return f"...{secret[-4:]}" if len(secret) >= 8 else "..."
