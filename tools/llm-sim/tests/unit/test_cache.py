"""Simulated prompt caching follows each provider's published rules."""

import pytest
from llm_sim.cache import (
    AnthropicCacheUse,
    Breakpoint,
    PrefixCache,
    anthropic_cache_use,
    openai_cached_tokens,
)


@pytest.mark.parametrize(
    ("first", "second", "cached"),
    [
        (1500, 1500, 1408),  # the same prompt again: longest 128-step prefix from 1024
        (1000, 1000, 0),  # under 1024 tokens nothing is cached
        (1024, 1024, 1024),
        (1300, 2000, 1280),  # only the shared prefix counts
        (2000, 1300, 1280),
    ],
)
def test_openai_caches_the_seen_prefix_in_128_token_steps(
    first: int, second: int, cached: int
) -> None:
    cache = PrefixCache(1000)
    ids = list(range(3000))
    assert openai_cached_tokens(cache, "m", ids[:first], now=0.0) == 0
    assert openai_cached_tokens(cache, "m", ids[:second], now=1.0) == cached


def test_openai_cache_is_per_model_and_expires() -> None:
    cache = PrefixCache(1000)
    ids = list(range(1200))
    openai_cached_tokens(cache, "a", ids, now=0.0)
    assert openai_cached_tokens(cache, "b", ids, now=1.0) == 0
    assert openai_cached_tokens(cache, "a", ids, now=10_000.0) == 0


def test_a_different_prefix_is_not_a_hit() -> None:
    cache = PrefixCache(1000)
    openai_cached_tokens(cache, "m", list(range(1500)), now=0.0)
    assert openai_cached_tokens(cache, "m", [7, *range(1, 1500)], now=1.0) == 0


def test_anthropic_writes_then_reads_a_breakpoint_prefix() -> None:
    cache = PrefixCache(1000)
    ids = list(range(2000))
    points = [Breakpoint(1500, "5m")]
    assert anthropic_cache_use(cache, "m", ids, points, 1024, 0.0) == AnthropicCacheUse(
        write_5m=1500
    )
    assert anthropic_cache_use(cache, "m", ids, points, 1024, 1.0) == AnthropicCacheUse(read=1500)


def test_anthropic_splits_writes_by_ttl_after_the_longest_hit() -> None:
    cache = PrefixCache(1000)
    ids = list(range(5000))
    anthropic_cache_use(cache, "m", ids, [Breakpoint(1200, "1h")], 1024, 0.0)
    points = [Breakpoint(1200, "1h"), Breakpoint(3000, "1h"), Breakpoint(4000, "5m")]
    use = anthropic_cache_use(cache, "m", ids, points, 1024, 1.0)
    assert use == AnthropicCacheUse(read=1200, write_1h=1800, write_5m=1000)


def test_anthropic_ignores_breakpoints_below_the_minimum() -> None:
    cache = PrefixCache(1000)
    points = [Breakpoint(900, "5m")]
    ids = list(range(1000))
    assert anthropic_cache_use(cache, "m", ids, points, 1024, 0.0) == AnthropicCacheUse()
    assert anthropic_cache_use(cache, "m", ids, points, 1024, 1.0) == AnthropicCacheUse()


def test_anthropic_5_minute_entries_expire() -> None:
    cache = PrefixCache(1000)
    ids, points = list(range(1500)), [Breakpoint(1500, "5m")]
    anthropic_cache_use(cache, "m", ids, points, 1024, 0.0)
    assert anthropic_cache_use(cache, "m", ids, points, 1024, 301.0).write_5m == 1500


def test_the_cache_forgets_the_oldest_entries_first() -> None:
    cache = PrefixCache(2)
    for digest in (b"a", b"b", b"c"):
        cache.put(digest, 60, now=0.0)
    assert not cache.hit(b"a", 1.0)
    assert cache.hit(b"c", 1.0)
