"""Real sinks (an aiosmtpd SMTP server, a local HTTP server as Slack) and a running notifier."""

import asyncio
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from notifier.bootstrap import create_app
from notifier.config import Settings
from notifier.messages import EVENTS
from rex_shared import topics
from rex_shared.crypto import new_kek
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.testing.infra import Infra
from rex_shared.testing.pg import service_database

TOPIC = topics.BUDGET_THRESHOLD_CROSSED
TOPICS = tuple(EVENTS)  # every topic the notifier consumes
KEKS = new_kek("test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Collector:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.arrivals: list[float] = []  # time.monotonic() of each message, in order

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.arrivals.append(time.monotonic())
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on a fixed free port that can be started late (to simulate outages);
    `options` turn on STARTTLS or implicit TLS and required logins."""

    def __init__(self, **options: Any) -> None:
        self.port = free_port()
        self._collector = _Collector()
        self._controller: Controller | None = None
        self._options = options
        self.logins: list[tuple[str, str]] = []

    @property
    def messages(self) -> list[EmailMessage]:
        return self._collector.messages

    @property
    def arrivals(self) -> list[float]:
        return self._collector.arrivals

    def authenticate(self, _s: Any, _e: Any, _v: Any, mechanism: str, data: Any) -> AuthResult:
        login, password = data.login.decode(), data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == self._options.get("login"))

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if "login" in self._options:
            kwargs.update(authenticator=self.authenticate, auth_required=True)
        if self._options.get("starttls"):
            kwargs.update(tls_context=self._options["starttls"], require_starttls=True)
        if self._options.get("tls"):
            # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS throughout
            # (the test filters the warning aiosmtpd gives for each connection).
            kwargs.update(ssl_context=self._options["tls"], auth_require_tls=False)
        self._controller = Controller(
            self._collector, hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def matching(self, token: str) -> list[EmailMessage]:
        """Messages whose subject mentions `token` (other tests' events may arrive too)."""
        return [m for m in self._collector.messages if token in str(m["Subject"])]


Responder = Callable[[dict[str, Any]], tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class Posted:
    """One request as the sink saw it, and what it answered."""

    at: float
    path: str
    headers: dict[str, str]
    raw: bytes
    status: int

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw)
        return parsed


@dataclass
class SlackSink:
    """A local HTTP server standing in for Slack or a webhook receiver; answers as `respond`
    says (given the JSON body; `inspect` sees the whole request first)."""

    respond: Responder = lambda _: (200, {})
    inspect: Callable[[Posted], int | None] = lambda _: None
    echo_path: bool = False  # error replies quote the path called (as some servers do)
    requests: list[Posted] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"

    @property
    def posts(self) -> list[tuple[float, dict[str, Any], int]]:
        return [(p.at, p.body, p.status) for p in self.requests]

    def matching(self, token: str, status: int | None = None) -> list[tuple[float, int]]:
        """(time, answered status) of the POSTs whose payload mentions `token`."""
        return [
            (p.at, p.status) for p in self.requests
            if token in p.raw.decode() and (status is None or p.status == status)
        ]  # fmt: skip

    def received(self, token: str) -> list[Posted]:
        """The accepted (2xx) POSTs whose payload mentions `token`."""
        return [p for p in self.requests if token in p.raw.decode() and p.status < 300]


def _handler(sink: SlackSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            seen = Posted(time.monotonic(), self.path, dict(self.headers), raw, 0)
            status, headers = sink.respond(json.loads(raw))
            status = sink.inspect(seen) or status
            sink.requests.append(Posted(seen.at, seen.path, seen.headers, raw, status))
            payload = b"ok" if status == 200 else b"invalid_payload"
            if status != 200 and sink.echo_path:
                payload += f" for {self.path}".encode()
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


def _serve(sink: SlackSink) -> Iterator[SlackSink]:
    sink.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
    thread = threading.Thread(target=sink.server.serve_forever, daemon=True)
    thread.start()
    yield sink
    sink.server.shutdown()
    sink.server.server_close()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@dataclass(frozen=True)
class Pki:
    """A throwaway CA (its PEM file, for REX_NOTIFIER_SMTP_CA_FILE) and a server certificate
    it signed for localhost and 127.0.0.1."""

    ca_file: Path
    server: ssl.SSLContext


def _cert(subject: str, key: Any, issuer: x509.Name, signer: Any, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False,
        )  # fmt: skip
        builder = builder.add_extension(usage, critical=True)
    else:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "REX test CA")])
    ca = _cert("REX test CA", ca_key, ca_name, ca_key, ca=True)
    server = _cert("localhost", server_key, ca.subject, ca_key, ca=False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return Pki(folder / "ca.pem", context)


@pytest.fixture
def smtp_sink() -> Iterator[Callable[..., SmtpSink]]:
    """`smtp_sink(starttls=ctx | tls=ctx, login=(user, password))`: a started server."""
    started: list[SmtpSink] = []

    def make(**options: Any) -> SmtpSink:
        sink = SmtpSink(**options)
        sink.start()
        started.append(sink)
        return sink

    yield make
    for sink in started:
        sink.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpSink]:
    """An SMTP sink whose server is not running yet: the test calls `start()`."""
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def slack() -> Iterator[SlackSink]:
    yield from _serve(SlackSink())


@pytest.fixture
def webhook() -> Iterator[SlackSink]:
    """A second local HTTP server, as a signed-webhook receiver."""
    yield from _serve(SlackSink())


@pytest.fixture(scope="session")
async def notifier_dsn(infra: Infra) -> str:
    dsn = await service_database(infra, service="notifier", schema="notifier")
    await ensure_topics(infra.kafka_bootstrap, TOPICS)
    return dsn


@pytest.fixture(scope="session")
async def producer(infra: Infra) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(infra.kafka_bootstrap, client_id="notifier-tests")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def pool(notifier_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(
        notifier_dsn,
        min_size=1,
        max_size=4,
        # The tests look at every org's rows, as the worker does (row-level security).
        server_settings={"search_path": "notifier", "app.rls_bypass": "on"},
    )
    yield pool
    await pool.close()


@pytest.fixture
async def org(pool: asyncpg.Pool) -> AsyncIterator[str]:
    """A fresh organization for one test; its deliveries are removed afterwards."""
    org_id = f"org-{uuid4().hex[:12]}"
    yield org_id
    await pool.execute("DELETE FROM deliveries WHERE org_id = $1", org_id)
    await pool.execute("DELETE FROM channels WHERE org_id = $1", org_id)


async def _group_at_end(bootstrap: str, group: str, producer: AIOKafkaProducer) -> None:
    # A fresh group for each app, committed at the end of the topic: the app sees only events
    # published from now on, not the topic's history or another session's backlog.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        parts = [
            TopicPartition(topic, p)
            for topic in TOPICS
            for p in await producer.partitions_for(topic)
        ]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


@pytest.fixture
def fresh_group(infra: Infra, producer: AIOKafkaProducer) -> Callable[[], Awaitable[str]]:
    """A new consumer group committed at the end of every budget topic."""

    async def make() -> str:
        group = f"notifier-test-{uuid4().hex[:10]}"
        await _group_at_end(infra.kafka_bootstrap, group, producer)
        return group

    return make


@pytest.fixture(scope="session")
def keks() -> str:
    return KEKS


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings


@pytest.fixture
async def run_notifier(
    infra: Infra,
    notifier_dsn: str,
    jwt_secret: str,
    producer: AIOKafkaProducer,
    pool: asyncpg.Pool,
) -> AsyncIterator[Callable[..., Any]]:
    """`async with run_notifier(smtp_port=..., slack_url=..., **settings) as running:`."""
    groups: set[str] = set()

    @asynccontextmanager
    async def run(
        *, smtp_port: int, slack_url: str = "", group: str | None = None, **overrides: Any
    ) -> AsyncIterator[Running]:
        group = group or f"notifier-test-{uuid4().hex[:10]}"
        groups.add(group)
        await _group_at_end(infra.kafka_bootstrap, group, producer)
        values: dict[str, Any] = dict(
            env="test", database_url=notifier_dsn, kafka_bootstrap=infra.kafka_bootstrap,
            jwt_secret=jwt_secret, consumer_group=group, channel_name=group,
            smtp_port=smtp_port, smtp_timeout_s=5.0, email_to="ops@example.com",
            slack_webhook_url=slack_url, dashboard_url="https://rex.example.com",
            backoff_base_s=0.2, backoff_max_s=1.0, worker_poll_s=0.2,
            slack_rate_per_s=1000, email_rate_per_s=1000, keks=KEKS,
        )  # fmt: skip
        settings = Settings(**{**values, **overrides})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://n") as client:
                yield Running(app, client, settings)

    yield run
    # Channel names are per test, so rows of other sessions' events that reached this test's
    # consumer would otherwise stay behind, unclaimed, forever.
    keys = [f"{kind}:{group}" for group in groups for kind in ("email", "slack")]
    await pool.execute("DELETE FROM deliveries WHERE channel_key = ANY($1::text[])", keys)


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 20.0
) -> None:
    """Wait until `check()` holds, polling; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


@pytest.fixture
def wait_for() -> Callable[..., Awaitable[None]]:
    return eventually
