"""Slack incoming webhooks through slack_sdk's async client; retries are ours, not the SDK's."""

import logging
from collections.abc import Callable

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from notifier.adapters.redact import Redactor
from notifier.domain.delivery import TransientError, classify_http
from notifier.domain.message import Rendered

SessionRef = Callable[[], aiohttp.ClientSession]

# slack_sdk logs the webhook URL (a secret) at DEBUG; its own logger is kept at WARNING.
_SDK_LOG = logging.getLogger("notifier.slack_sdk")
_SDK_LOG.setLevel(logging.WARNING)


class SlackChannel:
    """A Slack incoming webhook; the HTTP session is injected (shared) or owned."""

    kind = "slack"

    def __init__(
        self,
        url: str,
        *,
        key: str = "slack:default",
        timeout_s: int = 15,
        session: SessionRef | None = None,
    ) -> None:
        self.key, self._url, self._timeout_s = key, url, timeout_s
        self._shared = session
        self._own: aiohttp.ClientSession | None = None
        self._redact = Redactor([url])

    def _session(self) -> aiohttp.ClientSession:
        if self._shared is not None:
            return self._shared()
        # Created lazily: an aiohttp session belongs to the running event loop.
        if self._own is None or self._own.closed:
            self._own = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout_s))
        return self._own

    def _webhook(self) -> AsyncWebhookClient:
        # No SDK retry handlers: a retry must be persisted (and spaced) by the delivery row.
        return AsyncWebhookClient(
            self._url,
            timeout=self._timeout_s,
            session=self._session(),
            retry_handlers=[],
            logger=_SDK_LOG,
        )

    async def send(self, message: Rendered) -> None:
        """POST the Block Kit payload or raise TransientError / PermanentError."""
        try:
            response = await self._webhook().send_dict(message.slack)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TransientError(
                self._redact(f"Slack unreachable: {type(exc).__name__}: {exc}")
            ) from None
        headers = {str(k).lower(): str(v) for k, v in (response.headers or {}).items()}
        detail = self._redact(f"from the Slack webhook: {response.body[:200]}")
        error = classify_http(response.status_code, headers.get("retry-after"), detail)
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """Close the session if this channel owns one."""
        if self._own is not None:
            await self._own.close()
