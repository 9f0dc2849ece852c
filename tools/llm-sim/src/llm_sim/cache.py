"""Simulated prompt caching: prefixes of token ids remembered with a lifetime, LRU-bounded."""

import hashlib
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# OpenAI caches prompts from 1024 tokens on and reports hits in 128-token steps.
OPENAI_MIN_TOKENS = 1024
OPENAI_STEP = 128
OPENAI_TTL_S = 600.0
ANTHROPIC_TTL_S = {"5m": 300.0, "1h": 3600.0}


class PrefixCache:
    """Digests of prompt prefixes with their expiry time; the oldest are forgotten first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._expiry: OrderedDict[bytes, float] = OrderedDict()

    def hit(self, digest: bytes, now: float) -> bool:
        """True when the prefix was cached and has not expired."""
        expiry = self._expiry.get(digest)
        return expiry is not None and expiry > now

    def put(self, digest: bytes, ttl_s: float, now: float) -> None:
        """Remember (or refresh) a prefix for `ttl_s` seconds."""
        self._expiry[digest] = max(self._expiry.get(digest, 0.0), now + ttl_s)
        self._expiry.move_to_end(digest)
        while len(self._expiry) > self._capacity:
            self._expiry.popitem(last=False)


def prefix_digests(namespace: str, ids: Sequence[int], lengths: Iterable[int]) -> dict[int, bytes]:
    """Digest of `ids[:n]` for each n in `lengths`, hashing the sequence only once."""
    hasher = hashlib.sha256(namespace.encode())
    digests: dict[int, bytes] = {}
    done = 0
    for n in sorted(set(lengths)):
        hasher.update(array("I", ids[done:n]).tobytes())
        done = n
        digests[n] = hasher.copy().digest()
    return digests


def openai_cached_tokens(cache: PrefixCache, model: str, ids: Sequence[int], now: float) -> int:
    """Cached part of an OpenAI prompt: the longest seen prefix, in 128-token steps from 1024."""
    digests = prefix_digests(model, ids, range(OPENAI_MIN_TOKENS, len(ids) + 1, OPENAI_STEP))
    cached = max((n for n, d in digests.items() if cache.hit(d, now)), default=0)
    for digest in digests.values():
        cache.put(digest, OPENAI_TTL_S, now)
    return cached


@dataclass(frozen=True)
class Breakpoint:
    """A `cache_control` marker: the prompt up to `length` tokens is cacheable for `ttl`."""

    length: int
    ttl: str


@dataclass(frozen=True)
class AnthropicCacheUse:
    read: int = 0
    write_5m: int = 0
    write_1h: int = 0


def anthropic_cache_use(
    cache: PrefixCache,
    model: str,
    ids: Sequence[int],
    breakpoints: Sequence[Breakpoint],
    min_tokens: int,
    now: float,
) -> AnthropicCacheUse:
    """Read the longest cached breakpoint prefix, write the later ones (Anthropic's rules)."""
    digests = prefix_digests(model, ids, (b.length for b in breakpoints))
    read = max((b.length for b in breakpoints if cache.hit(digests[b.length], now)), default=0)
    writes = {"5m": 0, "1h": 0}
    covered = read
    for bp in sorted(breakpoints, key=lambda b: b.length):
        if bp.length < min_tokens:
            continue  # too short to cache: Anthropic silently ignores the marker
        cache.put(digests[bp.length], ANTHROPIC_TTL_S[bp.ttl], now)  # a hit refreshes it too
        if bp.length > covered:
            writes[bp.ttl] += bp.length - covered
            covered = bp.length
    return AnthropicCacheUse(read=read, write_5m=writes["5m"], write_1h=writes["1h"])
