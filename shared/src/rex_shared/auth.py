"""Bearer-JWT authentication: who calls, for which organization, with which roles."""

import time
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


class JwtVerifier:
    """HS256 verification with issuer, audience, expiry and bounded clock skew."""

    def __init__(
        self, secret: str, *, issuer: str = "rex", audience: str = "rex-api", leeway_s: int = 30
    ) -> None:
        if not secret:
            raise ValueError("a JWT secret is required")
        self._secret, self._issuer, self._audience, self._leeway = (
            secret,
            issuer,
            audience,
            leeway_s,
        )

    def verify(self, token: str) -> Principal:
        """Decode and check a token, or raise APIError 401."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
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
        return Principal(sub=str(claims["sub"]), org_id=org, roles=tuple(map(str, roles)))

    def mint(self, *, sub: str, org_id: str, roles: list[str], ttl_s: int = 3600) -> str:
        """Issue a token (local mode, tests, service-to-service calls)."""
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
    """A FastAPI dependency returning the verified caller."""

    async def current(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise APIError(401, "UNAUTHENTICATED", "missing bearer token")
        return verifier.verify(token.strip())

    return current


def require_role(principal: Principal, *roles: str) -> None:
    """Raise 403 FORBIDDEN unless the caller holds one of `roles`."""
    if not principal.has(*roles):
        raise APIError(403, "FORBIDDEN", f"requires role: {' or '.join(roles)}")
