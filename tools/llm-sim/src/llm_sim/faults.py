"""Injected faults: errors, delays and malformed judge output, asked for per request or globally.

- header `x-sim-fail: 429|500|...` or the text `[sim:fail:429]` anywhere in the prompt: that status
  (a 429 carries `Retry-After`, from header `x-sim-retry-after` or the settings);
  `[sim:fail:503:2]`: only the first 2 times this exact prompt is seen (then it answers);
- header `x-sim-delay-ms: 250` or the text `[sim:delay:250]`: answer that much later;
- the text `[sim:malformed]`: the judge answer is cut off mid-JSON, every time;
  `[sim:malformed:once]`: only the first time this exact prompt is seen;
- setting `REX_SIM_FAIL_RATE`: that share of all requests fails with `REX_SIM_FAIL_STATUS`.
"""

import hashlib
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from llm_sim.cache import PrefixCache
from llm_sim.config import SimSettings
from llm_sim.served import ServedLog

_FAIL = re.compile(r"\[sim:fail:(\d{3})(?::(\d{1,3}))?\]")
_DELAY = re.compile(r"\[sim:delay:(\d{1,6})\]")


@dataclass(frozen=True)
class Fault:
    """An error to answer with instead of a completion."""

    status: int
    retry_after_s: int | None = None


@dataclass
class SimState:
    """What the simulator remembers between requests."""

    settings: SimSettings
    cache: PrefixCache
    rng: random.Random
    malformed_seen: set[bytes] = field(default_factory=set)
    failures_seen: dict[bytes, int] = field(default_factory=dict)
    keys_seen: dict[str, int] = field(default_factory=dict)
    served: ServedLog = field(default_factory=ServedLog)

    @classmethod
    def create(cls, settings: SimSettings) -> "SimState":
        cache, rng = PrefixCache(settings.cache_capacity), random.Random(settings.seed)
        return cls(settings, cache, rng, served=ServedLog(settings.served_capacity))


def fault_for(state: SimState, headers: Mapping[str, str], text: str) -> Fault | None:
    """The fault this request asks for, if any."""
    status = _header_int(headers, "x-sim-fail")
    if status is None and (match := _FAIL.search(text)):
        status = int(match.group(1)) if _still_failing(state, text, match.group(2)) else None
    if status is None and state.rng.random() < state.settings.fail_rate:
        status = state.settings.fail_status
    if status is None or not 400 <= status <= 599:
        return None
    retry_after = _header_int(headers, "x-sim-retry-after")
    if status == 429 and retry_after is None:
        retry_after = state.settings.retry_after_s
    return Fault(status, retry_after)


def _still_failing(state: SimState, text: str, times: str | None) -> bool:
    if times is None:
        return True
    digest = hashlib.sha256(text.encode()).digest()
    seen = state.failures_seen.get(digest, 0)
    state.failures_seen[digest] = seen + 1
    return seen < int(times)


def remember_key(state: SimState, key: str) -> None:
    """Count requests per API key fingerprint (tests check whose key was used)."""
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:16]
    state.keys_seen[fingerprint] = state.keys_seen.get(fingerprint, 0) + 1


def delay_ms(state: SimState, headers: Mapping[str, str], text: str) -> int:
    """How long to wait before answering."""
    asked = _header_int(headers, "x-sim-delay-ms")
    if asked is None and (match := _DELAY.search(text)):
        asked = int(match.group(1))
    return state.settings.delay_ms + (asked or 0)


def wants_malformed(state: SimState, text: str) -> bool:
    """True when this judge answer should come back broken."""
    if "[sim:malformed]" in text:
        return True
    if "[sim:malformed:once]" not in text:
        return False
    digest = hashlib.sha256(text.encode()).digest()
    if digest in state.malformed_seen:
        return False
    state.malformed_seen.add(digest)
    return True


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None
