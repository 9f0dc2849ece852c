"""LLM clients per organization and provider: the org's own API key when it stored one, else
the configured key (or the simulator). Attempts per provider share one concurrency gate."""

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from evaluator.adapters.llm_anthropic import AnthropicMessages
from evaluator.adapters.llm_openai import OpenAiChat
from evaluator.adapters.retry import Retrier
from evaluator.config import Settings
from evaluator.domain.backoff import RetryPolicy
from evaluator.ports import LlmClient

KeyLookup = Callable[[str, str], Awaitable[str | None]]


def _connect(
    settings: Settings, provider: str, base_url: str, key: str, retrier: Retrier
) -> LlmClient:
    kind = OpenAiChat if provider == "openai" else AnthropicMessages
    return kind.connect(
        base_url=base_url,
        api_key=key,
        timeout_s=settings.llm_timeout_s,
        retrier=retrier,
        stream=settings.llm_stream,
    )


@dataclass
class ClientPool:
    """`ClientSource` for the runs; clients are cached per (org, provider, key)."""

    settings: Settings
    org_key: KeyLookup
    ttl_s: float = 60.0
    _gates: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    _defaults: dict[str, LlmClient] = field(default_factory=dict)
    _org: dict[tuple[str, str, str], LlmClient] = field(default_factory=dict)
    _keys: dict[tuple[str, str], tuple[float, str | None]] = field(default_factory=dict)

    def _retrier(self, provider: str) -> Retrier:
        gate = self._gates.setdefault(
            provider, asyncio.Semaphore(self.settings.provider_concurrency)
        )
        policy = RetryPolicy(
            max_retries=self.settings.llm_max_retries, base_s=self.settings.llm_backoff_base_s
        )
        return Retrier(policy, gate)

    def default(self, provider: str) -> LlmClient:
        """The configured client (real API with a configured key, else the simulator)."""
        if provider not in self._defaults:
            url, key = (
                self.settings.openai_endpoint()
                if provider == "openai"
                else self.settings.anthropic_endpoint()
            )
            self._defaults[provider] = _connect(
                self.settings, provider, url, key, self._retrier(provider)
            )
        return self._defaults[provider]

    async def _key(self, org_id: str, provider: str) -> str | None:
        hit = self._keys.get((org_id, provider))
        if hit and hit[0] > time.monotonic():
            return hit[1]
        key = await self.org_key(org_id, provider)
        self._keys[(org_id, provider)] = (time.monotonic() + self.ttl_s, key)
        return key

    async def client(self, org_id: str, provider: str) -> LlmClient:
        key = await self._key(org_id, provider)
        if key is None:
            return self.default(provider)
        tag = hashlib.sha256(key.encode()).hexdigest()[:16]  # the cache key, never the key
        found = self._org.get((org_id, provider, tag))
        if found is None:
            found = _connect(
                self.settings,
                provider,
                self.settings.org_key_base_url(provider),
                key,
                self._retrier(provider),
            )
            self._org[(org_id, provider, tag)] = found
        return found

    def forget(self, org_id: str, provider: str) -> None:
        """The org's key changed: look it up again on the next call."""
        self._keys.pop((org_id, provider), None)

    async def close(self) -> None:
        for client in [*self._defaults.values(), *self._org.values()]:
            await client.close()
