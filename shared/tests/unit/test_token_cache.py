"""Verified tokens are remembered until their expiry, never longer, and never unverified."""

import time

import jwt
import pytest
from rex_shared.api import APIError
from rex_shared.auth import JwtVerifier, Principal, TokenCache

ALICE = Principal(sub="alice", org_id="o1", roles=("admin",))
SECRET = "s" * 40


def test_a_token_is_remembered_until_it_expires() -> None:
    cache = TokenCache()
    cache.put("t", ALICE, until=1000)
    assert cache.get("t", now=999.9) == ALICE
    assert cache.get("t", now=1000) is None
    assert cache.get("t", now=10) is None  # forgotten once expired
    assert len(cache) == 0


def test_the_cache_forgets_the_least_recently_used_first() -> None:
    cache = TokenCache(size=2)
    cache.put("first", ALICE, until=10)
    cache.put("second", ALICE, until=10)
    assert cache.get("first", now=0) == ALICE  # first is now the most recent
    cache.put("third", ALICE, until=10)
    assert cache.get("second", now=0) is None
    assert cache.get("first", now=0) == ALICE and cache.get("third", now=0) == ALICE
    assert len(cache) == 2


def test_a_verified_token_is_answered_from_the_cache() -> None:
    v = JwtVerifier(SECRET)
    token = v.mint(sub="u1", org_id="o1", roles=["admin"])
    first = v.verify(token)
    assert v.verify(token) is first  # the same object: no second signature check


def test_a_cached_token_is_forgotten_at_its_exp() -> None:
    v = JwtVerifier(SECRET)
    token = v.mint(sub="u1", org_id="o1", roles=["admin"], ttl_s=60)
    v.verify(token)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert v._cache.get(token, exp - 1) is not None
    assert v._cache.get(token, exp) is None  # leeway or not: re-verified from then on


def test_the_cache_keeps_an_entry_at_most_its_ttl() -> None:
    v = JwtVerifier(SECRET, cache_ttl_s=5)
    token = v.mint(sub="u1", org_id="o1", roles=["admin"], ttl_s=3600)
    start = time.time()
    v.verify(token)
    assert v._cache.get(token, start + 4) is not None
    assert v._cache.get(token, start + 6) is None


def test_only_verified_tokens_are_cached() -> None:
    v = JwtVerifier(SECRET)
    good = v.mint(sub="u1", org_id="o1", roles=["admin"])
    v.verify(good)
    head, body, sig = good.split(".")
    forged = JwtVerifier("x" * 40).mint(sub="u1", org_id="o1", roles=["admin"])
    for bad in (f"{head}.{body}.{sig[:-2]}xx", forged, "not-a-jwt"):
        with pytest.raises(APIError):
            v.verify(bad)
        with pytest.raises(APIError):  # still refused the second time
            v.verify(bad)
    assert len(v._cache) == 1


def test_an_expired_token_is_refused_even_after_it_was_cached() -> None:
    v = JwtVerifier(SECRET, leeway_s=0)
    token = v.mint(sub="u1", org_id="o1", roles=["admin"], ttl_s=-1)
    with pytest.raises(APIError):
        v.verify(token)
    assert len(v._cache) == 0


def test_size_zero_turns_the_cache_off() -> None:
    v = JwtVerifier(SECRET, cache_size=0)
    token = v.mint(sub="u1", org_id="o1", roles=["admin"])
    assert v.verify(token) == v.verify(token)
    assert len(v._cache) == 0
