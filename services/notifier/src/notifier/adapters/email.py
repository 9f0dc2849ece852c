"""Email over SMTP (aiosmtplib): a multipart/alternative message, errors sorted for retrying."""

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

import aiosmtplib

from notifier.domain.delivery import PermanentError, TransientError, classify_smtp
from notifier.messages import Rendered

log = logging.getLogger(__name__)

TlsMode = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail, and to whom."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = None
    tls: TlsMode = "none"
    timeout_s: float = 30.0


def build_email(message: Rendered, *, sender: str, recipients: tuple[str, ...]) -> EmailMessage:
    """Plain text first, HTML as the preferred alternative (RFC 2046 order)."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    if message.reference:
        # The same id on every attempt of a delivery, so a resend after a crash between the
        # server's acceptance and our bookkeeping can be recognised as the same message.
        mail["Message-ID"] = f"<{message.reference}@rex-notifier>"
        mail["X-REX-Delivery-Id"] = message.reference
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


class EmailChannel:
    """An SMTP destination; a new connection per message keeps failures independent."""

    kind = "email"

    def __init__(self, config: SmtpConfig, *, key: str = "email:default") -> None:
        self.key, self._config = key, config

    async def send(self, message: Rendered) -> None:
        """Hand the message to the SMTP server or raise TransientError / PermanentError."""
        config = self._config
        mail = build_email(message, sender=config.sender, recipients=config.recipients)
        try:
            refused, _ = await aiosmtplib.send(
                mail,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.tls == "tls",
                start_tls=config.tls == "starttls",
                timeout=config.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:  # every recipient refused
            codes = [r.code for r in exc.recipients]
            raise classify_smtp(min(codes), "all recipients refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise classify_smtp(exc.code, exc.message) from exc
        except aiosmtplib.SMTPNotSupported as exc:  # e.g. STARTTLS or AUTH missing: configuration
            raise PermanentError(f"SMTP: {exc}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # connect, timeout, disconnect
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}: {exc}") from exc
        if refused:
            # Some recipients took it; resending would duplicate it for them, so only log.
            log.warning("SMTP refused some recipients of %s: %s", message.reference, refused)

    async def aclose(self) -> None:
        """Nothing is kept open between messages."""
