"""Nothing is dropped silently: poison and unprocessable events land in the DLQ with a reason."""

from collections.abc import AsyncIterator
from decimal import Decimal as D
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from budget_it import cost_recorded, publish, wait_for_usage
from fastapi import FastAPI
from rex_shared import topics
from rex_testkit.infra import Infra
from rex_testkit.kafka import TopicTail, header


@pytest.fixture
async def dead_letters(
    app: FastAPI, infra: Infra, producer: AIOKafkaProducer
) -> AsyncIterator[TopicTail]:
    tail = await TopicTail.open(infra.kafka_bootstrap, topics.dlq(topics.LLM_COST_RECORDED))
    yield tail
    await tail.close()


async def test_a_poison_message_goes_to_the_dead_letter_topic_with_the_reason(
    producer: AIOKafkaProducer, dead_letters: TopicTail
) -> None:
    marker = f"poison-{uuid4()}".encode()
    await producer.send_and_wait(
        topics.LLM_COST_RECORDED, value=b"{definitely not json", key=marker
    )
    [dead] = await dead_letters.read(lambda r: r.key == marker, count=1)
    assert dead.value == b"{definitely not json"
    assert "not JSON" in (header(dead, "dlq_reason") or "")
    assert header(dead, "dlq_source_topic") == topics.LLM_COST_RECORDED


async def test_an_event_that_cannot_be_counted_is_dead_lettered_and_its_neighbours_count(
    client: httpx.AsyncClient,
    producer: AIOKafkaProducer,
    dead_letters: TopicTail,
    org: str,
    admin: dict[str, str],
) -> None:
    body = {
        "name": "b",
        "type": "organization",
        "limit_amount": "10",
        "period": "monthly",
        "is_hard_limit": False,
    }
    budget_id = (await client.post("/api/v1/budgets", json=body, headers=admin)).json()["data"][
        "id"
    ]
    too_big = cost_recorded(org, "1e30")  # beyond NUMERIC(38,18): the database refuses it
    await publish(producer, cost_recorded(org, "0.5"), too_big, cost_recorded(org, "0.25"))
    [dead] = await dead_letters.read(lambda r: r.key == org.encode(), count=1)
    assert header(dead, "ce_id") == too_big.id
    assert "NumericValueOutOfRange" in (header(dead, "dlq_reason") or "")
    await wait_for_usage(client, budget_id, admin, D("0.75"))
