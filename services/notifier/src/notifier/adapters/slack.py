"""Slack incoming webhooks through slack_sdk's async client; retries are ours, not the SDK's."""

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from notifier.domain.delivery import TransientError, classify_http
from notifier.messages import Rendered


class SlackChannel:
    """A Slack incoming webhook; one HTTP session reused across messages."""

    kind = "slack"

    def __init__(self, url: str, *, key: str = "slack:default", timeout_s: int = 15) -> None:
        self.key, self._url, self._timeout_s = key, url, timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebhookClient | None = None

    def _webhook(self) -> AsyncWebhookClient:
        # Created lazily: an aiohttp session belongs to the running event loop.
        if self._client is None or self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self._timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
            # No SDK retry handlers: a retry must be persisted (and spaced) by the delivery row.
            self._client = AsyncWebhookClient(
                self._url, timeout=self._timeout_s, session=self._session, retry_handlers=[]
            )
        return self._client

    async def send(self, message: Rendered) -> None:
        """POST the Block Kit payload or raise TransientError / PermanentError."""
        try:
            response = await self._webhook().send_dict(message.slack)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TransientError(f"Slack unreachable: {type(exc).__name__}: {exc}") from exc
        headers = {str(k).lower(): str(v) for k, v in (response.headers or {}).items()}
        detail = f"from the Slack webhook: {response.body[:200]}"
        error = classify_http(response.status_code, headers.get("retry-after"), detail)
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
