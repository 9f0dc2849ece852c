"""Bearer-JWT authentication: who calls, for which organization, with which roles."""

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import jwt
from fastapi import Request
from pydantic import BaseModel, ConfigDict

from rex_shared.api import APIError

Role = Literal["admin", "viewer", "member", "service"]


class Principal(BaseModel):
    """The verified caller."""

    model_config = ConfigDict(frozen=True)

    sub: str
    org_id: str
    roles: tuple[str, ...] = ()

    def has(self, *roles: str) -> bool:
        """True when the caller holds any of `roles`."""
        return any(r in self.roles for r in roles)


class TokenCache:
    """token -> (principal, valid until); bounded, the least recently used out first.

    Only tokens that passed verification go in, so a hit is a token this process already
    checked; an entry is dropped at its `until` (never later than the token's exp).
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, now: float) -> Principal | None:
        """The principal of a token verified before and still valid at `now`."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        if now >= entry[1]:
            self._entries.pop(token, None)
            return None
        with contextlib.suppress(KeyError):  # dropped meanwhile by another thread: still valid
            self._entries.move_to_end(token)
        return entry[0]

    def put(self, token: str, principal: Principal, until: float) -> None:
        """Remember a verified token until `until` (Unix time)."""
        if self._size <= 0:
            return
        self._entries[token] = (principal, until)
        self._entries.move_to_end(token)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class JwtVerifier:
    """HS256 (local secret) or RS256/ES256 (JWKS URL) with iss, aud, exp, nbf and bounded skew.

    Verified tokens are remembered (bounded LRU keyed by the token) until their exp, and at
    most `cache_ttl_s` (the JWKS key cache's own lifetime, so a rotated-out key stops
    working as soon as without the cache): callers such as the evaluator send the same token
    for many requests, and checking its signature each time is a large share of a cheap
    request's CPU. `cache_size=0` turns the cache off.
    """

    def __init__(
        self,
        secret: str = "",
        *,
        issuer: str = "rex",
        audience: str = "rex-api",
        leeway_s: int = 30,
        jwks_url: str | None = None,
        cache_size: int = 10_000,
        cache_ttl_s: float = 300.0,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("a JWT secret or a JWKS URL is required")
        if secret and len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret, self._issuer, self._audience = secret, issuer, audience
        self._leeway = leeway_s
        # Production: keys come from the identity provider's JWKS, cached and refreshed by PyJWT.
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._cache, self._cache_ttl = TokenCache(cache_size), cache_ttl_s

    def verify(self, token: str) -> Principal:
        """Decode and check a token, or raise APIError 401 (a token verified before and not
        yet expired is answered from the cache)."""
        now = time.time()
        known = self._cache.get(token, now)
        if known is not None:
            return known
        principal, exp = self._verify(token)
        self._cache.put(token, principal, min(exp, now + self._cache_ttl))
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            key, algorithms = self._key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise APIError(401, "INVALID_TOKEN", f"token rejected: {exc}") from exc
        org = claims.get("org_id")
        if not isinstance(org, str) or not org:
            raise APIError(401, "INVALID_TOKEN", "token has no org_id")
        roles = claims.get("roles") or []
        if not isinstance(roles, list):
            raise APIError(401, "INVALID_TOKEN", "roles must be a list")
        principal = Principal(sub=str(claims["sub"]), org_id=org, roles=tuple(map(str, roles)))
        exp = claims["exp"]  # required, and checked to be a number in the future (+ leeway)
        return principal, float(exp) if isinstance(exp, int | float) else 0.0

    def _key_for(self, token: str) -> tuple[Any, list[str]]:
        # The algorithm list is fixed per mode, never read from the token: no `alg: none`,
        # no HS256 signed with a public key.
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key, ["RS256", "ES256"]
        return self._secret, ["HS256"]

    def mint(self, *, sub: str, org_id: str, roles: list[str], ttl_s: int = 3600) -> str:
        """Issue a token (local mode, tests, service-to-service calls)."""
        if not self._secret:
            raise ValueError("minting needs the local HS256 secret")
        now = int(time.time())
        claims = {
            "sub": sub,
            "org_id": org_id,
            "roles": roles,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


def principal_dependency(
    verifier: JwtVerifier,
) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """A FastAPI dependency returning the verified caller (also kept on request.state)."""

    async def current(request: Request) -> Principal:
        cached = getattr(request.state, "principal", None)
        if isinstance(cached, Principal):  # the rate limiter verified it already
            return cached
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise APIError(401, "UNAUTHENTICATED", "missing bearer token")
        principal = verifier.verify(token.strip())
        request.state.principal = principal
        return principal

    return current


def sees_only_own(principal: Principal) -> bool:
    """Members read only their own evaluations, costs, budgets and alerts; admins and viewers
    read everything in their organization."""
    return not principal.has("admin", "viewer", "service")


def require_role(principal: Principal, *roles: str) -> None:
    """Raise 403 FORBIDDEN unless the caller holds one of `roles`."""
    if not principal.has(*roles):
        raise APIError(403, "FORBIDDEN", f"requires role: {' or '.join(roles)}")
