"""Email over SMTP (aiosmtplib): a multipart/alternative message, errors sorted for retrying."""

import logging
import ssl
from dataclasses import dataclass
from email.charset import BASE64, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import Literal

import aiosmtplib

from notifier.adapters.redact import Redactor
from notifier.domain.delivery import PermanentError, TransientError, classify_smtp
from notifier.domain.message import Rendered

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
    # Verification of the server's certificate: system CAs plus any configured extra CA.
    tls_context: ssl.SSLContext | None = None


_UTF8 = Charset("utf-8")
_UTF8.body_encoding = BASE64  # 7-bit safe for any server, whatever the budget's name


def _part(text: str, subtype: str) -> MIMEText:
    return MIMEText(text, subtype, _UTF8)  # type: ignore[arg-type]


def build_email(message: Rendered, *, sender: str, recipients: tuple[str, ...]) -> Message:
    """Plain text first, HTML as the preferred alternative (RFC 2046 order).

    Built with the compat32 MIME classes: several times cheaper than EmailMessage's header
    parsing, which was half of the notifier's CPU per delivery.
    """
    mail = MIMEMultipart("alternative")
    mail["Subject"] = Header(message.subject, _UTF8, header_name="Subject").encode()
    mail["From"] = formataddr(parseaddr(sender), charset="utf-8")
    mail["To"] = ", ".join(recipients)
    mail["Date"] = formatdate(localtime=False)
    if message.reference:
        # The same id on every attempt of a delivery, so a resend after a crash between the
        # server's acceptance and our bookkeeping can be recognised as the same message.
        mail["Message-ID"] = f"<{message.reference}@rex-notifier>"
        mail["X-REX-Delivery-Id"] = message.reference
    mail.attach(_part(message.text, "plain"))
    mail.attach(_part(message.html, "html"))
    return mail


class EmailChannel:
    """An SMTP destination; a new connection per message keeps failures independent."""

    kind = "email"

    def __init__(self, config: SmtpConfig, *, key: str = "email:default") -> None:
        self.key, self._config = key, config
        self._redact = Redactor([config.password or ""])

    async def send(self, message: Rendered) -> None:
        """Hand the message to the SMTP server or raise TransientError / PermanentError."""
        config = self._config
        mail = build_email(message, sender=config.sender, recipients=config.recipients)
        try:
            refused, _ = await aiosmtplib.send(
                mail.as_bytes(),
                sender=parseaddr(config.sender)[1],
                recipients=list(config.recipients),
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.tls == "tls",
                start_tls=config.tls == "starttls",
                tls_context=config.tls_context if config.tls != "none" else None,
                timeout=config.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:  # every recipient refused
            codes = [r.code for r in exc.recipients]
            raise classify_smtp(min(codes), "all recipients refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise classify_smtp(exc.code, self._redact(exc.message)) from None
        except aiosmtplib.SMTPNotSupported as exc:  # e.g. STARTTLS or AUTH missing: configuration
            raise PermanentError(self._redact(f"SMTP: {exc}")) from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # connect, timeout, disconnect
            untrusted = _untrusted_certificate(exc)
            if untrusted is not None:  # retrying will not make the certificate trustworthy
                raise PermanentError(f"SMTP TLS: {untrusted.verify_message}") from None
            if type(exc) is aiosmtplib.SMTPException and "not supported" in str(exc):
                # STARTTLS or AUTH missing on the server: configuration, not an outage.
                raise PermanentError(self._redact(f"SMTP: {exc}")) from None
            text = f"SMTP unavailable: {type(exc).__name__}: {exc}"
            raise TransientError(self._redact(text)) from None
        if refused:
            # Some recipients took it; resending would duplicate it for them, so only log.
            log.warning("SMTP refused some recipients of %s: %s", message.reference, refused)

    async def aclose(self) -> None:
        """Nothing is kept open between messages."""


def _untrusted_certificate(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind `exc` (aiosmtplib wraps it), if any."""
    for _ in range(10):  # a bounded walk: exception chains can loop
        if exc is None or isinstance(exc, ssl.SSLCertVerificationError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None
