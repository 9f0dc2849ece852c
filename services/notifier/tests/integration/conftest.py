"""Real sinks (an aiosmtpd SMTP server, a local HTTP server as Slack) and a running notifier."""

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from notifier.bootstrap import create_app
from notifier.config import Settings
from rex_shared import topics
from rex_shared.kafka import ensure_topics, make_producer
from rex_shared.testing.infra import Infra
from rex_shared.testing.pg import service_database

TOPIC = topics.BUDGET_THRESHOLD_CROSSED


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Collector:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server on a fixed free port that can be started late (to simulate outages)."""

    def __init__(self) -> None:
        self.port = free_port()
        self._collector = _Collector()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def matching(self, token: str) -> list[EmailMessage]:
        """Messages whose subject mentions `token` (other tests' events may arrive too)."""
        return [m for m in self._collector.messages if token in str(m["Subject"])]


Responder = Callable[[dict[str, Any]], tuple[int, dict[str, str]]]


@dataclass
class SlackSink:
    """A local HTTP server standing in for Slack; answers as `respond` says."""

    respond: Responder = lambda _: (200, {})
    posts: list[tuple[float, dict[str, Any], int]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"

    def matching(self, token: str, status: int | None = None) -> list[tuple[float, int]]:
        """(time, answered status) of the POSTs whose payload mentions `token`."""
        return [
            (t, s) for t, body, s in self.posts
            if token in json.dumps(body) and (status is None or s == status)
        ]  # fmt: skip


def _handler(sink: SlackSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, headers = sink.respond(body)
            sink.posts.append((time.monotonic(), body, status))
            payload = b"ok" if status == 200 else b"invalid_payload"
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpSink]:
    """An SMTP sink whose server is not running yet: the test calls `start()`."""
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def slack() -> Iterator[SlackSink]:
    sink = SlackSink()
    sink.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(sink))
    thread = threading.Thread(target=sink.server.serve_forever, daemon=True)
    thread.start()
    yield sink
    sink.server.shutdown()
    sink.server.server_close()


@pytest.fixture(scope="session")
async def notifier_dsn(infra: Infra) -> str:
    dsn = await service_database(infra, service="notifier", schema="notifier")
    await ensure_topics(infra.kafka_bootstrap, [TOPIC])
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
        notifier_dsn, min_size=1, max_size=4, server_settings={"search_path": "notifier"}
    )
    yield pool
    await pool.close()


@pytest.fixture
async def org(pool: asyncpg.Pool) -> AsyncIterator[str]:
    """A fresh organization for one test; its deliveries are removed afterwards."""
    org_id = f"org-{uuid4().hex[:12]}"
    yield org_id
    await pool.execute("DELETE FROM deliveries WHERE org_id = $1", org_id)


async def _group_at_end(bootstrap: str, group: str, producer: AIOKafkaProducer) -> None:
    # A fresh group for each app, committed at the end of the topic: the app sees only events
    # published from now on, not the topic's history or another session's backlog.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        parts = [TopicPartition(TOPIC, p) for p in await producer.partitions_for(TOPIC)]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


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
