"""The fault suite's machinery: a private Kafka and PostgreSQL, the stack as processes,
restartable sinks, a steady event driver and the system's invariants."""

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaProducer
from rex_shared import cloudevents
from rex_shared.events import LlmCallCompleted, Usage
from rex_shared.kafka import RenewingProducer
from rex_testkit.http_sink import HttpSink
from rex_testkit.smtp_sink import SmtpSink
from rexctl.oracle import independent_cost_of
from rexctl.served import ServedCall, ledger_costs, read_served, reconcile

MODEL = "gpt-4o-mini-2024-07-18"
# A judge call the provider answered this close to the evaluator's SIGKILL may have been paid
# for without the evaluator living to record it (answered to a dead process, or killed
# before its store committed): counted apart as cut off, not as lost.
KILL_WINDOW_S = 1.0


class Sinks:
    """A real SMTP server and a real HTTP server for Slack that can go down and come back."""

    def __init__(self, smtp_port: int, slack_port: int) -> None:
        self.mail = SmtpSink(smtp_port)
        self.slack = HttpSink(slack_port, path="/slack")
        self.smtp_port, self.slack_port = smtp_port, slack_port

    def up(self) -> None:
        self.mail.start()
        self.slack.start()

    def down(self) -> None:
        self.mail.stop()
        self.slack.stop()

    @property
    def slack_url(self) -> str:
        return self.slack.url


def make_call(org: str, evaluation_id: str, rng: random.Random) -> LlmCallCompleted:
    now = datetime.now(UTC)
    inp = rng.randint(200, 4000)
    usage = Usage(
        input_tokens=inp,
        cache_read_tokens=rng.choice([0, 0, inp // 2 // 128 * 128]),
        output_tokens=rng.randint(10, 600),
    )
    return LlmCallCompleted(
        call_id=uuid4(),
        evaluation_id=evaluation_id,
        metric="faithfulness",
        org_id=org,
        project_id="proj-faults",
        user_id="driver",
        provider="openai",
        model=MODEL,
        requested_model="gpt-4o-mini",
        api="chat.completions",
        started_at=now,
        completed_at=now,
        latency_ms=5,
        status="succeeded",
        usage=usage,
    )


def plan_calls(org: str, count: int) -> list[LlmCallCompleted]:
    """The calls a scenario will publish, made up front so their total is known before."""
    rng = random.Random(org)
    evaluation_id = str(uuid4())
    return [make_call(org, evaluation_id, rng) for _ in range(count)]


@dataclass
class Driver:
    """Publishes call events at a steady rate; a send that fails is retried with the same id."""

    bootstrap: str
    calls: list[LlmCallCompleted]
    rate: float
    sent: list[LlmCallCompleted] = field(default_factory=list)
    resends: int = 0
    done: bool = False

    async def run(self) -> None:
        # Renewing: after a broker restart aiokafka's idempotent producer may fail for good
        # (OutOfOrderSequenceNumber); a stuck driver would look like lost events.
        producer = RenewingProducer(
            lambda: AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=5000,
            )
        )
        await _start_with_retry(producer)
        try:
            interval, start = 1.0 / self.rate, time.monotonic()
            for i, call in enumerate(self.calls):
                delay = start + i * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self._send(producer, call)
                self.sent.append(call)
        finally:
            self.done = True
            await producer.stop()

    async def _send(self, producer: AIOKafkaProducer, call: LlmCallCompleted) -> None:
        event = cloudevents.build(
            call, source="rex/fault-driver", event_id=str(call.call_id), key=str(call.call_id)
        )
        while True:
            try:
                await producer.send_and_wait(
                    event.topic,
                    value=event.data,
                    key=event.key.encode() if event.key else None,
                    headers=event.headers(),
                )
                return
            except Exception:  # the broker is away: same event again, the system dedupes
                self.resends += 1
                await asyncio.sleep(0.5)

    async def replay(self) -> None:
        """Deliver every event a second time (a whole duplicated batch)."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await _start_with_retry(producer)
        try:
            for call in self.sent:
                await self._send(producer, call)
        finally:
            await producer.stop()


def expected_total(calls: list[LlmCallCompleted]) -> Decimal:
    return sum((independent_cost_of(c) for c in calls), Decimal(0))


async def _start_with_retry(producer: AIOKafkaProducer) -> None:
    for _ in range(60):
        try:
            await producer.start()
            return
        except Exception:
            await asyncio.sleep(1)
    raise RuntimeError("Kafka did not come back")


@dataclass
class Observed:
    ledger_rows: int
    ledger_total: Decimal
    usage: Decimal
    alerts_per_threshold: dict[Decimal, int]
    mails: int
    posts: int
    pending_outbox: int
    alerts_sent: int = 0


async def observe(dsn: str, org: str, budget_name: str, sinks: Sinks) -> Observed:
    """The system's state for one org, read straight from each service's schema."""
    conn = await asyncpg.connect(dsn)
    try:
        rows, total = await conn.fetchrow(
            "SELECT count(*), coalesce(sum(total_cost), 0) FROM ledger.ledger_entries"
            " WHERE org_id = $1",
            org,
        )
        usage = await conn.fetchval(
            "SELECT coalesce(sum(p.usage_amount), 0) FROM budget.budget_periods p"
            " JOIN budget.budgets b ON b.id = p.budget_id WHERE b.org_id = $1",
            org,
        )
        alerts = await conn.fetch(
            "SELECT threshold, count(*) AS n FROM budget.cost_alerts WHERE org_id = $1"
            " AND kind = 'actual' GROUP BY threshold",
            org,
        )
        # Every alert, forecasts too, is one email and one Slack post.
        all_alerts = await conn.fetchval(
            "SELECT count(*) FROM budget.cost_alerts WHERE org_id = $1", org
        )
        pending = 0
        for schema in ("evaluator", "ledger", "budget"):
            pending += await conn.fetchval(
                f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"
            )
    finally:
        await conn.close()
    mails = sum(
        1
        for m in sinks.mail.messages
        if budget_name in str(m["Subject"]) or budget_name in _text(m)
    )
    posts = len(sinks.slack.received(budget_name))
    return Observed(
        rows,
        Decimal(total),
        Decimal(usage),
        {Decimal(r["threshold"]): r["n"] for r in alerts},
        mails,
        posts,
        pending,
        int(all_alerts),
    )


def _text(message: Any) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    out = []
    for p in parts:
        payload = p.get_payload(decode=True)
        if isinstance(payload, bytes):
            out.append(payload.decode("utf-8", "replace"))
    return "".join(out)


@dataclass(frozen=True)
class ProviderCheck:
    """The ledger held to what the simulated provider served for some evaluations."""

    served: int  # billable calls
    lost: tuple[ServedCall, ...]  # served, absent from the ledger, not cut off by a kill
    cut_off: tuple[ServedCall, ...]  # served within KILL_WINDOW_S of the kill, absent
    duplicated: int
    exact: bool  # every recorded call at the independent price of the served usage


async def provider_check(
    sim_url: str, dsn: str, evaluation_ids: list[str], killed_at: datetime | None
) -> ProviderCheck:
    served = (await read_served(sim_url)).of(evaluation_ids)
    report = reconcile(served, await ledger_costs(dsn, evaluation_ids))
    lost, cut_off = report.split_lost(killed_at, KILL_WINDOW_S)
    exact = not (report.inexact or report.unserved or report.dropped)
    return ProviderCheck(report.served, lost, cut_off, report.duplicated, exact)
