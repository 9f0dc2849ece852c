"""Verified tokens are remembered until their expiry, and never longer."""

import base64
import json

from budget.entrypoints.auth_cache import TokenCache
from rex_shared.auth import Principal

ALICE = Principal(sub="alice", org_id="o1", roles=("admin",))


def token(exp: object) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"


def test_a_token_is_remembered_until_it_expires() -> None:
    cache = TokenCache()
    cache.put(token(1000), ALICE)
    assert cache.get(token(1000), now=999.9) == ALICE
    assert cache.get(token(1000), now=1000) is None
    assert cache.get(token(1000), now=10) is None  # forgotten once expired


def test_a_token_without_a_readable_expiry_is_not_remembered() -> None:
    cache = TokenCache()
    for bad in (token("soon"), token(None), "not-a-jwt", "a.!!!.c"):
        cache.put(bad, ALICE)
        assert cache.get(bad, now=0) is None


def test_the_cache_forgets_the_least_recently_used_first() -> None:
    cache = TokenCache(size=2)
    first, second, third = token(10), token(11), token(12)
    cache.put(first, ALICE)
    cache.put(second, ALICE)
    assert cache.get(first, now=0) == ALICE  # first is now the most recent
    cache.put(third, ALICE)
    assert cache.get(second, now=0) is None
    assert cache.get(first, now=0) == ALICE and cache.get(third, now=0) == ALICE
