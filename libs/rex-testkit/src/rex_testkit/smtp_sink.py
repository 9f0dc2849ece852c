"""A real SMTP server standing in for the mail server: keeps what it accepts, can require
TLS and a login, and can go down and come back on the same port (an outage)."""

import ssl
import threading
import time
import uuid
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from rex_testkit.ports import free_port


class SmtpSink:
    """aiosmtpd on 127.0.0.1:`port` (a free one by default), not started until `start()`.

    `login=(user, password)` requires that login (any other is refused, and every attempt is
    kept in `logins`); `starttls=ctx` requires STARTTLS, `tls=ctx` is TLS from the first byte;
    `directory` keeps each message as an .eml file too; `on_message` sees each one's bytes as
    it comes (messages are parsed only when `messages` is read, so a fast sender is not slowed).
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        login: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        tls: ssl.SSLContext | None = None,
        directory: Path | None = None,
        on_message: Callable[[bytes], None] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.raw: list[bytes] = []
        self.arrivals: list[float] = []  # time.monotonic() of each message, in order
        self._parsed: list[EmailMessage] = []
        self.logins: list[tuple[str, str]] = []
        self._login, self._starttls, self._tls = login, starttls, tls
        self._dir, self._on_message = directory, on_message
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.content
        with self._lock:
            self.arrivals.append(time.monotonic())
            self.raw.append(raw)
        if self._dir:
            self._dir.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
            (self._dir / name).write_bytes(raw)
        if self._on_message:
            self._on_message(raw)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        """Every accepted message, parsed, in the order they came."""
        with self._lock:
            for raw in self.raw[len(self._parsed) :]:
                parsed = message_from_bytes(raw, policy=policy.default)
                assert isinstance(parsed, EmailMessage)
                self._parsed.append(parsed)
            return list(self._parsed)

    def authenticate(self, _s: Any, _e: Any, _v: Any, mechanism: str, data: Any) -> AuthResult:
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd answers 535 to a refused login (True would leave it to us).
        return AuthResult(success=(login, password) == self._login, handled=False)

    def start(self) -> "SmtpSink":
        """Listen (again) on `port`."""
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {}
        if self._login is not None:
            kwargs.update(authenticator=self.authenticate)
        if self._starttls is not None:
            kwargs.update(tls_context=self._starttls, require_starttls=True)
        if self._tls is not None:
            # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS throughout
            # (tests filter the warning aiosmtpd gives for each connection).
            kwargs.update(ssl_context=self._tls, auth_require_tls=False)
        if self._login is not None and (self._tls or self._starttls):
            kwargs.update(auth_required=True)
        elif self._login is not None:
            # A plain-text login, as some servers allow; not required (aiosmtpd would warn).
            kwargs.update(auth_require_tls=False)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening; what was received stays."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def matching(self, token: str) -> list[EmailMessage]:
        """Messages whose subject mentions `token` (other tests' events may arrive too)."""
        return [m for m in self.messages if token in str(m["Subject"])]

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
