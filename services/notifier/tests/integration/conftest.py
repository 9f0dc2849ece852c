"""Real sinks (the test kit's SMTP server and HTTP server as Slack) and a running notifier."""

import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from notifier.adapters.renderer import EVENTS
from notifier.bootstrap import create_app
from notifier.config import Settings
from rex_shared import topics
from rex_shared.crypto import new_kek
from rex_shared.kafka import commit_groups_at_end, ensure_topics, make_producer
from rex_testkit import kafka as kafka_kit
from rex_testkit.http_sink import HttpSink
from rex_testkit.infra import Infra
from rex_testkit.pg import role_dsns, service_database
from rex_testkit.smtp_sink import SmtpSink
from rex_testkit.waiting import eventually

TOPIC = topics.BUDGET_THRESHOLD_CROSSED
TOPICS = tuple(EVENTS)  # every topic the notifier consumes
KEKS = new_kek("test")
SLACK_PATH = "/services/T000/B000/XXXX"


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
def slack() -> Iterator[HttpSink]:
    """A local HTTP server standing in for Slack."""
    with HttpSink(path=SLACK_PATH) as sink:
        yield sink


@pytest.fixture
def webhook() -> Iterator[HttpSink]:
    """A second local HTTP server, as a signed-webhook receiver."""
    with HttpSink(path=SLACK_PATH) as sink:
        yield sink


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


@pytest.fixture
def fresh_group(infra: Infra) -> Callable[[], Awaitable[str]]:
    """A new consumer group committed at the end of every topic the notifier reads."""
    return partial(kafka_kit.fresh_group, infra.kafka_bootstrap, TOPICS, prefix="notifier-test")


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
        # A group of its own, committed at the topics' end: the app sees only events published
        # from now on, not the topics' history or another session's backlog.
        await commit_groups_at_end(infra.kafka_bootstrap, [group], TOPICS)
        values: dict[str, Any] = dict(
            env="test", kafka_bootstrap=infra.kafka_bootstrap,
            jwt_secret=jwt_secret, consumer_group=group, channel_name=group,
            smtp_port=smtp_port, smtp_timeout_s=5.0, email_to="ops@example.com",
            slack_webhook_url=slack_url, dashboard_url="https://rex.example.com",
            backoff_base_s=0.2, backoff_max_s=1.0, worker_poll_s=0.2,
            slack_rate_per_s=1000, email_rate_per_s=1000, keks=KEKS,
        )  # fmt: skip
        api, worker = role_dsns(infra, schema="notifier")
        values.update(database_url=api, worker_database_url=worker)
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


@pytest.fixture
def wait_for() -> Callable[..., Awaitable[object]]:
    """`eventually`, waiting 20 s unless told otherwise."""
    return partial(eventually, within=20.0)
