"""Shared pieces of the ledger benchmarks: a throwaway schema and topics, a ledger process, and
realistic `llm.call.completed` events."""

import asyncio
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from rex_shared import cloudevents
from rex_shared.db import provision
from rex_shared.events import LlmCallCompleted, Usage
from rex_shared.kafka import ensure_topics
from rex_testkit.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
ADMIN_DSN = os.environ.get("REX_PG_ADMIN_DSN", "postgresql://rex@127.0.0.1:5433/rex")
KAFKA = os.environ.get("REX_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
MODELS = [
    ("openai", "gpt-4o-2024-08-06", "chat.completions"),
    ("openai", "gpt-4o-mini-2024-07-18", "chat.completions"),
    ("anthropic", "claude-sonnet-4-5-20250929", "messages"),
    ("anthropic", "claude-3-5-haiku-20241022", "messages"),
]
METRICS = ["faithfulness", "answer_relevancy", "context_precision", "context_recall", "toxicity"]


def dsn_of(schema: str) -> str:
    rest = ADMIN_DSN.split("@", 1)[1]
    return f"postgresql://rex_{schema}:{schema}@{rest}"


async def make_schema(prefix: str) -> tuple[str, str]:
    """A fresh, migrated and seeded ledger schema owned by a fresh role: (schema, dsn)."""
    from cost_ledger.bootstrap import migrate_and_seed
    from cost_ledger.config import Settings

    schema = f"{prefix}{secrets.token_hex(3)}"
    await provision(ADMIN_DSN, schema=schema, role=f"rex_{schema}", password=schema)
    dsn = dsn_of(schema)
    directory = Settings(database_url=dsn).migrations_path()
    await migrate_and_seed(dsn, schema=schema, directory=directory)
    return schema, dsn


async def drop_schema(schema: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.execute(f"DROP ROLE IF EXISTS rex_{schema}")
    finally:
        await conn.close()


async def connect(dsn: str, schema: str) -> asyncpg.Connection:
    """A connection that reads every org (the bench checks the whole schema)."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    await conn.execute("SELECT set_config('app.rls_bypass', 'on', false)")
    return conn


@dataclass
class Topics:
    calls: str
    cost: str

    @classmethod
    async def fresh(cls, partitions: int = 3) -> "Topics":
        tag = secrets.token_hex(4)
        made = cls(f"bench.ledger.{tag}.calls", f"bench.ledger.{tag}.cost")
        await ensure_topics(KAFKA, [made.calls, made.cost], partitions=partitions)
        return made

    async def delete(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=KAFKA)
        await admin.start()
        try:
            names = [self.calls, self.cost, f"{self.calls}.dlq", f"{self.cost}.dlq"]
            with suppress(Exception):
                await admin.delete_topics(names)
        finally:
            await admin.close()


class LedgerProcess:
    """`python -m cost_ledger serve` on its own schema, topics, group and port."""

    def __init__(self, *, schema: str, dsn: str, topics: Topics, group: str, **env: str) -> None:
        self.port = free_port()
        self.env = {
            **os.environ, "REX_ENV": "test", "REX_LOG_LEVEL": "WARNING",
            "REX_KAFKA_BOOTSTRAP": KAFKA, "REX_JWT_SECRET": secrets.token_urlsafe(48),
            "REX_LEDGER_DATABASE_URL": dsn, "REX_LEDGER_DB_SCHEMA": schema,
            "REX_LEDGER_PORT": str(self.port), "REX_LEDGER_CONSUMER_GROUP": group,
            "REX_LEDGER_CALLS_TOPIC": topics.calls, "REX_LEDGER_COST_TOPIC": topics.cost,
            "REX_LEDGER_RATE_LIMIT_PER_PRINCIPAL": "0", **env,
        }  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cost_ledger", "serve"],
            env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def ready(self, within_s: float = 60) -> None:
        deadline = time.monotonic() + within_s
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.poll() is None, "ledger exited"
                with suppress(httpx.HTTPError):
                    reply = await http.get(f"http://127.0.0.1:{self.port}/ready", timeout=2)
                    if reply.status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise TimeoutError("ledger not ready")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


def make_call(org: str, evaluations: list[UUID], rnd: random.Random) -> LlmCallCompleted:
    """A judge call with a realistic usage shape (cache reads on about half of them)."""
    provider, model, api = rnd.choice(MODELS)
    now = datetime.now(UTC)
    prompt = rnd.randint(800, 12000)
    cached = rnd.choice((0, 0, prompt // 2))
    written = rnd.choice((0, 0, 0, min(2048, prompt - cached))) if provider == "anthropic" else 0
    out = rnd.randint(50, 900)
    latency = rnd.randint(200, 4000)
    user = rnd.randint(1, 20)  # each user works in one project
    return LlmCallCompleted(
        call_id=uuid4(), evaluation_id=rnd.choice(evaluations), metric=rnd.choice(METRICS),
        org_id=org, project_id=f"proj-{user % 5}", user_id=f"user-{user}",
        provider=provider, model=model, requested_model=model, api=api,
        started_at=now - timedelta(milliseconds=latency), completed_at=now, latency_ms=latency,
        status="failed" if rnd.random() < 0.01 else "succeeded",
        usage=Usage(input_tokens=prompt, cache_read_tokens=cached, cache_write_tokens=written,
                    output_tokens=out),
        raw_usage={"prompt_tokens": prompt, "completion_tokens": out},
        row_index=rnd.randint(0, 499),
    )  # fmt: skip


def producer() -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=10,
                            max_batch_size=256 * 1024)  # fmt: skip


async def send(
    kafka: AIOKafkaProducer, topic: str, call: LlmCallCompleted
) -> asyncio.Future[object]:
    """Send without waiting for the broker's acknowledgement."""
    key = str(call.call_id)
    out = cloudevents.build(call, source="bench", event_id=key, key=key)
    future: asyncio.Future[object] = await kafka.send(
        topic, value=out.data, key=key.encode(), headers=out.headers()
    )
    return future
