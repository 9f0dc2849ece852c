"""The email and Slack adapters turn every failure into TransientError or PermanentError."""

from typing import Any

import aiohttp
import aiosmtplib
import pytest
from notifier.adapters.email import EmailChannel, SmtpConfig
from notifier.adapters.slack import SlackChannel
from notifier.domain.delivery import DeliveryError, PermanentError, TransientError
from notifier.domain.message import Rendered
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

MESSAGE = Rendered("subject", "text", "<p>html</p>", {"text": "hi", "blocks": []}, "d-1")
SMTP = SmtpConfig(host="127.0.0.1", port=1, sender="rex@example.com", recipients=("a@b.c",))

SMTP_FAILURES: list[tuple[Exception, type[DeliveryError]]] = [
    (ConnectionRefusedError("refused"), TransientError),
    (aiosmtplib.SMTPConnectError("no route"), TransientError),
    (aiosmtplib.SMTPServerDisconnected("gone"), TransientError),
    (aiosmtplib.SMTPTimeoutError("slow"), TransientError),
    (aiosmtplib.SMTPResponseException(451, "try later"), TransientError),
    (aiosmtplib.SMTPDataError(452, "mailbox full for now"), TransientError),
    (aiosmtplib.SMTPResponseException(550, "no such user"), PermanentError),
    (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), PermanentError),
    (aiosmtplib.SMTPSenderRefused(553, "not yours", "rex@example.com"), PermanentError),
    (aiosmtplib.SMTPNotSupported("STARTTLS not offered"), PermanentError),
    (
        aiosmtplib.SMTPException("The SMTP AUTH extension is not supported by this server."),
        PermanentError,
    ),
    (aiosmtplib.SMTPException("SMTP STARTTLS extension not supported by server."), PermanentError),
    (
        aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no", "a@b.c")]),
        PermanentError,
    ),
    (
        aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "busy", "a@b.c")]),
        TransientError,
    ),
]


@pytest.mark.parametrize(("failure", "expected"), SMTP_FAILURES)
async def test_smtp_failures_are_classified(
    monkeypatch: pytest.MonkeyPatch, failure: Exception, expected: type[DeliveryError]
) -> None:
    async def fail(*_: Any, **__: Any) -> None:
        raise failure

    monkeypatch.setattr(aiosmtplib, "send", fail)
    with pytest.raises(expected):
        await EmailChannel(SMTP).send(MESSAGE)


def _answer(status: int, headers: dict[str, str] | None = None) -> Any:
    async def send_dict(self: Any, body: dict[str, Any], **_: Any) -> WebhookResponse:
        return WebhookResponse(url="u", status_code=status, body="b", headers=headers or {})

    return send_dict


@pytest.mark.parametrize(
    ("status", "headers", "expected", "wait"),
    [
        (429, {"Retry-After": "3"}, TransientError, 3.0),
        (429, {"retry-after": "1"}, TransientError, 1.0),
        (500, {}, TransientError, None),
        (400, {}, PermanentError, None),
        (404, {}, PermanentError, None),
    ],
)
async def test_slack_statuses_are_classified(
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    headers: dict[str, str],
    expected: type[DeliveryError],
    wait: float | None,
) -> None:
    monkeypatch.setattr(AsyncWebhookClient, "send_dict", _answer(status, headers))
    channel = SlackChannel("http://127.0.0.1:1/hook")
    with pytest.raises(expected) as caught:
        await channel.send(MESSAGE)
    await channel.aclose()
    if isinstance(caught.value, TransientError):
        assert caught.value.retry_after_s == wait


async def test_slack_200_is_success(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AsyncWebhookClient, "send_dict", _answer(200))
    channel = SlackChannel("http://127.0.0.1:1/hook")
    await channel.send(MESSAGE)
    await channel.aclose()


async def test_an_unreachable_slack_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(*_: Any, **__: Any) -> None:
        raise aiohttp.ClientConnectionError("refused")

    monkeypatch.setattr(AsyncWebhookClient, "send_dict", fail)
    channel = SlackChannel("http://127.0.0.1:1/hook")
    with pytest.raises(TransientError):
        await channel.send(MESSAGE)
    await channel.aclose()
