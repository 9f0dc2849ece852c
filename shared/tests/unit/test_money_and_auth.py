"""Exact money helpers and token verification."""

import time
from decimal import Decimal

import jwt
import pytest
from rex_shared.api import APIError
from rex_shared.auth import JwtVerifier
from rex_shared.money import display, per_million, to_str


def test_summing_a_million_small_costs_is_exact() -> None:
    total = sum((Decimal("0.000435") for _ in range(1_000_000)), Decimal(0))
    assert total == Decimal("435")


@pytest.mark.parametrize(
    ("tokens", "rate", "expected"),
    [(1, "0.0625", "0.0000000625"), (1_000_000, "2.5", "2.5"), (3, "0.075", "0.000000225")],
)
def test_per_million_is_exact(tokens: int, rate: str, expected: str) -> None:
    assert per_million(tokens, Decimal(rate)) == Decimal(expected)


def test_display_rounds_half_even_only_at_the_end() -> None:
    assert display(Decimal("0.0000025"), 6) == "0.000002"
    assert display(Decimal("0.0000035"), 6) == "0.000004"
    assert to_str(Decimal("1.2300")) == "1.23"


def test_a_minted_token_verifies() -> None:
    v = JwtVerifier("s" * 40)
    p = v.verify(v.mint(sub="u1", org_id="o1", roles=["admin"]))
    assert (p.sub, p.org_id, p.roles) == ("u1", "o1", ("admin",))


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 120},
        {"aud": "someone-else"},
        {"iss": "mallory"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer"],
)
def test_bad_tokens_are_refused(claims: dict[str, object]) -> None:
    base = {"sub": "u", "org_id": "o", "iss": "rex", "aud": "rex-api", "exp": int(time.time()) + 60}
    token = jwt.encode({**base, **claims}, "s" * 40, algorithm="HS256")
    with pytest.raises(APIError) as err:
        JwtVerifier("s" * 40).verify(token)
    assert err.value.status == 401


def test_tampered_and_unsigned_tokens_are_refused() -> None:
    v = JwtVerifier("s" * 40)
    token = v.mint(sub="u", org_id="o", roles=["admin"])
    head, body, sig = token.split(".")
    with pytest.raises(APIError):
        v.verify(f"{head}.{body}.{sig[:-2]}xx")
    unsigned = jwt.encode({"sub": "u", "org_id": "o"}, None, algorithm="none")
    with pytest.raises(APIError):
        v.verify(unsigned)
