"""The whole system as separate processes on real Kafka and PostgreSQL, with real sinks."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, TopicPartition
from rex_shared.auth import JwtVerifier
from rex_shared.db import provision
from rex_shared.kafka import commit_groups_at_end
from rex_testkit.http_sink import HttpSink
from rex_testkit.infra import Infra
from rex_testkit.ports import free_port
from rex_testkit.smtp_sink import SmtpSink
from rexctl.stack import SERVICES, Ports, Stack


@dataclass
class System:
    """A running stack plus the sinks standing in for the mail server and Slack."""

    stack: Stack
    mail: SmtpSink
    slack: HttpSink
    verifier: JwtVerifier
    pg_admin_dsn: str
    # This run's consumer groups (service -> group): its own, committed at the topics' end
    # before the services start, so a shared development broker's backlog is not replayed.
    groups: dict[str, str] = field(default_factory=dict)

    def headers(self, org: str, user: str = "alice", role: str = "admin") -> dict[str, str]:
        token = self.verifier.mint(sub=user, org_id=org, roles=[role])
        return {"Authorization": f"Bearer {token}"}

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.stack.url(service), timeout=10.0)


@pytest.fixture(scope="session")
def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    home = tmp_path_factory.mktemp("rex-e2e")
    mail = SmtpSink().start()
    slack = HttpSink().start()
    smtp_port = mail.port
    ports = Ports(
        evaluator=free_port(),
        ledger=free_port(),
        budget=free_port(),
        notifier=free_port(),
        sim=free_port(),
        smtp=smtp_port,
        slack=slack.port,
    )
    tag = secrets.token_hex(4)
    groups = {name: f"{name}-e2e-{tag}" for name in ("cost-ledger", "budget", "notifier")}
    asyncio.run(commit_groups_at_end(infra.kafka_bootstrap, groups.values()))
    stack = Stack(
        home=home,
        kafka_bootstrap=infra.kafka_bootstrap,
        pg_admin_dsn=infra.pg_admin_dsn,
        ports=ports,
        with_sinks=False,
        extra_env={
            "REX_LEDGER_CONSUMER_GROUP": groups["cost-ledger"],
            "REX_BUDGET_CONSUMER_GROUP": groups["budget"],
            "REX_NOTIFIER_CONSUMER_GROUP": groups["notifier"],
            "REX_NOTIFIER_SMTP_PORT": str(smtp_port),
            "REX_NOTIFIER_SLACK_WEBHOOK_URL": slack.url,
            "REX_NOTIFIER_BACKOFF_BASE_S": "0.5",
            "REX_LOG_LEVEL": "INFO",
        },
    )
    asyncio.run(_provision(stack))
    stack.migrate()
    try:
        for proc in stack.processes():
            stack.start(proc, timeout=90)
        verifier = JwtVerifier(stack.jwt_secret())
        yield System(stack, mail, slack, verifier, infra.pg_admin_dsn, groups)
    except Exception:
        _dump_logs(home)
        raise
    finally:
        for proc in reversed(stack.processes()):
            stack.stop(proc.name)
        mail.stop()
        slack.stop()


def _dump_logs(home: Path) -> None:
    for log in sorted((home / "logs").glob("*.log")):
        print(f"----- {log.name} (tail) -----")
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))


async def _provision(stack: Stack) -> None:
    for _, _, schema, _ in SERVICES:
        await provision(stack.pg_admin_dsn, schema=schema, role=f"rex_{schema}", password=schema)


async def _partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    # A producer's partitions_for waits for the topic's metadata; a bare consumer's does not.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        return [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, match: bytes) -> list[ConsumerRecord]:
    """Every record on `topic` so far whose value contains `match`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await _partitions(bootstrap, topic)
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        found: list[ConsumerRecord] = []
        while any([await consumer.position(p) < end[p] for p in parts]):
            batch = await consumer.getmany(*parts, timeout_ms=1000)
            found += [r for recs in batch.values() for r in recs if match in (r.value or b"")]
        return found
    finally:
        await consumer.stop()


async def wait_caught_up(bootstrap: str, group: str, topic: str, wait_s: float = 60.0) -> None:
    """Until `group` has committed every record on `topic` (everything processed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        parts = await _partitions(bootstrap, topic)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline:
            end = await consumer.end_offsets(parts)
            committed = await admin.list_consumer_group_offsets(group)
            if all(committed.get(p) and committed[p].offset >= end[p] for p in parts):
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"consumer group {group} did not catch up on {topic}")
    finally:
        await consumer.stop()
        await admin.close()


@pytest.fixture
async def http(system: System) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    clients = {name: system.client(name) for name, *_ in SERVICES}
    yield clients
    for c in clients.values():
        await c.aclose()
