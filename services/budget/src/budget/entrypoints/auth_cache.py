"""Verified tokens remembered until they expire: the evaluator sends the same service token
for every pre-flight call, and checking its signature each time was a large share of a
check's CPU."""

import base64
import binascii
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from rex_shared.auth import JwtVerifier, Principal, principal_dependency

PrincipalDep = Callable[[Request], Coroutine[Any, Any, Principal]]


class TokenCache:
    """token -> (principal, expiry); bounded, least recently used out first."""

    def __init__(self, size: int = 10_000, leeway_s: int = 0) -> None:
        self._size, self._leeway = size, leeway_s
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def get(self, token: str, now: float) -> Principal | None:
        """The principal of a token verified before and not yet expired."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if now >= entry[1]:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return entry[0]

    def put(self, token: str, principal: Principal) -> None:
        """Remember a token just verified (one without a readable `exp` is not kept)."""
        expiry = _expiry(token)
        if expiry is None:
            return
        self._entries[token] = (principal, expiry + self._leeway)
        self._entries.move_to_end(token)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


def _expiry(token: str) -> float | None:
    # Only ever called after the signature was verified: reading the payload is safe here.
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
    except (IndexError, ValueError, binascii.Error, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) else None


def cached_principal(verifier: JwtVerifier, cache: TokenCache | None = None) -> PrincipalDep:
    """Like rex_shared.auth.principal_dependency, verifying each distinct token once."""
    verify, tokens = principal_dependency(verifier), cache or TokenCache()

    async def current(request: Request) -> Principal:
        cached = getattr(request.state, "principal", None)
        if isinstance(cached, Principal):
            return cached
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        known = tokens.get(token, time.time()) if token else None
        if known is not None:
            request.state.principal = known
            return known
        principal = await verify(request)  # 401 for a missing, bad or expired token
        tokens.put(token, principal)
        return principal

    return current
