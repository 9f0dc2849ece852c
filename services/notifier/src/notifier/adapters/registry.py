"""Channel adapters for deliveries: settings-configured defaults, and table channels built from
their decrypted row and cached until the row changes."""

import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import aiohttp

from notifier.adapters.email import EmailChannel, SmtpConfig
from notifier.adapters.slack import SlackChannel
from notifier.adapters.webhook import WebhookChannel
from notifier.domain.channels import StoredChannel
from notifier.domain.delivery import Delivery, PermanentError
from notifier.ports import Channel, Resolved, SecretsUnreadable

Loader = Callable[[UUID], Awaitable[tuple[StoredChannel, dict[str, str]] | None]]


class HttpSession:
    """One aiohttp session for every Slack and webhook channel (connection reuse)."""

    def __init__(self, timeout_s: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def __call__(self) -> aiohttp.ClientSession:
        # Created on first use: a session belongs to the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass(frozen=True)
class ChannelFactory:
    """Builds the adapter of a stored channel from its row and secrets."""

    session: Callable[[], aiohttp.ClientSession]
    tls_context: ssl.SSLContext | None = None
    smtp_timeout_s: float = 30.0
    slack_timeout_s: int = 15
    webhook_timeout_s: float = 15.0

    def build(self, stored: StoredChannel, secrets: Mapping[str, str]) -> Channel:
        """The adapter for `stored`; PermanentError when a required secret is missing."""
        try:
            if stored.kind == "email":
                return EmailChannel(self._smtp(stored.config, secrets), key=stored.key)
            if stored.kind == "slack":
                return SlackChannel(
                    secrets["webhook_url"],
                    key=stored.key,
                    timeout_s=self.slack_timeout_s,
                    session=self.session,
                )
            return WebhookChannel(
                secrets["url"],
                secrets["signing_secret"],
                key=stored.key,
                session=self.session,
                timeout_s=self.webhook_timeout_s,
            )
        except KeyError as exc:
            raise PermanentError(f"channel {stored.id} has no {exc.args[0]}") from None

    def _smtp(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> SmtpConfig:
        return SmtpConfig(
            host=config["host"],
            port=config["port"],
            sender=config["sender"],
            recipients=tuple(config["recipients"]),
            username=config.get("username") or None,
            password=secrets.get("password") or None,
            tls=config["tls"],
            timeout_s=self.smtp_timeout_s,
            tls_context=self.tls_context,
        )


class ChannelRegistry:
    """Finds the adapter of a delivery's channel; rebuilds a table channel after an edit."""

    def __init__(
        self, *, defaults: Mapping[str, Resolved], load: Loader, factory: ChannelFactory
    ) -> None:
        self._defaults, self._load, self._factory = dict(defaults), load, factory
        self._cache: dict[UUID, tuple[datetime, Resolved]] = {}

    @property
    def default_keys(self) -> list[str]:
        """Keys of the settings-configured channels this instance can send to."""
        return list(self._defaults)

    async def resolve(self, delivery: Delivery) -> Resolved | None:
        """The delivery's channel, or None when it no longer exists."""
        if delivery.channel_id is None:
            return self._defaults.get(delivery.channel_key)
        cached = self._cache.get(delivery.channel_id)
        if cached and delivery.channel_version in (None, cached[0]):
            return cached[1]
        try:
            loaded = await self._load(delivery.channel_id)
        except SecretsUnreadable:  # its KEK is gone (or the row was altered): configuration
            raise PermanentError(
                "channel secrets do not decrypt (is its KEK in REX_KEKS?)"
            ) from None
        if loaded is None:
            return None
        stored, secrets = loaded
        resolved = Resolved(self._factory.build(stored, secrets), stored.rate)
        self._cache[stored.id] = (stored.updated_at, resolved)
        return resolved
