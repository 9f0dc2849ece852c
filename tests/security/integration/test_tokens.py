"""Bad bearer tokens are refused by every running service with a 401 and a code.

Tampered, expired, not yet valid, wrong audience, wrong issuer, `alg: none`, forged with another
secret, another HMAC algorithm, claims missing: each against a list endpoint of each service,
next to a valid token (the control) that the same endpoint accepts.
"""

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from sec_apps import SERVICES
from sec_openapi import offline_spec, operations
from sec_world import World


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(org: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "mallory",
        "org_id": org,
        "roles": ["admin"],
        "iss": "rex",
        "aud": "rex-api",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _tampered(secret: str, org: str) -> str:
    header, _, signature = jwt.encode(_claims(org), secret, algorithm="HS256").split(".")
    return f"{header}.{_b64(_claims(org, org_id='org-victim'))}.{signature}"


def _bad_signature(secret: str, org: str) -> str:
    token = jwt.encode(_claims(org), secret, algorithm="HS256")
    last = "A" if token[-2] != "A" else "B"  # not the final char: its low bits may be padding
    return token[:-2] + last + token[-1]


def _alg_none(_: str, org: str) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(org))}."


BAD_TOKENS: dict[str, Callable[[str, str], str]] = {
    "tampered payload": _tampered,
    "tampered signature": _bad_signature,
    "expired": lambda s, o: jwt.encode(_claims(o, exp=int(time.time()) - 3600), s, "HS256"),
    "not yet valid": lambda s, o: jwt.encode(_claims(o, nbf=int(time.time()) + 3600), s, "HS256"),
    "wrong audience": lambda s, o: jwt.encode(_claims(o, aud="another-api"), s, "HS256"),
    "wrong issuer": lambda s, o: jwt.encode(_claims(o, iss="https://evil.example"), s, "HS256"),
    "alg none": _alg_none,
    "alg None, signed": lambda s, o: f"{_b64({'alg': 'None'})}.{_b64(_claims(o))}.c2ln",
    "HS256 forged with a wrong secret": lambda s, o: jwt.encode(
        _claims(o), secrets.token_urlsafe(48), "HS256"
    ),
    "HS512 with the right secret": lambda s, o: jwt.encode(_claims(o), s, "HS512"),
    "no exp": lambda s, o: jwt.encode(_claims(o, exp=None), s, "HS256"),
    "no org_id": lambda s, o: jwt.encode(_claims(o, org_id=None), s, "HS256"),
    "empty org_id": lambda s, o: jwt.encode(_claims(o, org_id=""), s, "HS256"),
    "roles not a list": lambda s, o: jwt.encode(_claims(o, roles="admin"), s, "HS256"),
    "not a JWT": lambda s, o: "eyJhbGciOiJIUzI1NiJ9.garbage",
}


def _list_endpoint(service: str) -> str:
    ops = operations(service, offline_spec(service))
    return next(o.template for o in ops if o.method == "GET" and not o.path_params and not o.query)


@pytest.mark.parametrize("service", SERVICES)
async def test_a_valid_token_is_accepted(
    service: str, system: Any, world: World, jwt_secret: str
) -> None:
    good = jwt.encode(_claims(world.b.id), jwt_secret, algorithm="HS256")
    reply = await system[service].http.get(
        _list_endpoint(service), headers={"Authorization": f"Bearer {good}"}
    )
    assert reply.status_code == 200, f"the control token is refused: {reply.text}"


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
@pytest.mark.parametrize("service", SERVICES)
async def test_a_bad_token_is_refused_with_401_and_a_code(
    service: str, kind: str, system: Any, world: World, jwt_secret: str
) -> None:
    token = BAD_TOKENS[kind](jwt_secret, world.b.id)
    reply = await system[service].http.get(
        _list_endpoint(service), headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 401, f"{kind}: {reply.status_code} {reply.text[:300]}"
    assert (reply.json().get("error") or {}).get("code"), reply.text
