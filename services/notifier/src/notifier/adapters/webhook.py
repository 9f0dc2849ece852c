"""Signed webhooks: a JSON POST with an HMAC-SHA256 signature over timestamp and body."""

import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from notifier.adapters.redact import Redactor
from notifier.domain.delivery import TransientError, classify_http
from notifier.domain.message import Rendered
from notifier.domain.signing import signature_headers

USER_AGENT = "REX-Notifier/1 (+webhook)"


def webhook_body(message: Rendered) -> bytes:
    """The JSON a receiver gets: ids to deduplicate on, the event data, and readable text."""
    body: dict[str, Any] = {
        "delivery_id": message.reference,
        "event_id": message.event_id,
        "type": message.event_type,
        "test": message.test,
        "subject": message.subject,
        "text": message.text,
        "data": message.data,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookChannel:
    """A receiver's URL and signing secret; the HTTP session is shared and injected."""

    kind = "webhook"

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        key: str,
        session: Callable[[], aiohttp.ClientSession],
        timeout_s: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key, self._url, self._secret = key, url, signing_secret
        self._session, self._timeout = session, aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self._redact = Redactor([url, signing_secret])

    async def send(self, message: Rendered) -> None:
        """POST the signed body or raise TransientError / PermanentError (secrets redacted)."""
        body = webhook_body(message)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Rex-Delivery-Id": message.reference,
            "X-Rex-Event-Type": message.event_type,
            # Signed at each attempt, so a receiver can refuse old timestamps (replays).
            **signature_headers(self._secret, int(self._clock()), body),
        }
        try:
            async with self._session().post(
                self._url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                detail = (await response.text(errors="replace"))[:200]
                status, retry_after = response.status, response.headers.get("Retry-After")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise TransientError(
                self._redact(f"webhook unreachable: {type(exc).__name__}: {exc}")
            ) from None
        error = classify_http(status, retry_after, self._redact(f"from the webhook: {detail}"))
        if error is not None:
            raise error

    async def aclose(self) -> None:
        """The session belongs to the registry."""
