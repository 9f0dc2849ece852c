"""End to end inside one process: Kafka in, real SMTP and HTTP sinks out, PostgreSQL between."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer
from notifier.domain.samples import threshold_crossed
from rex_shared import cloudevents
from rex_shared.events import BudgetThresholdCrossed
from rex_shared.kafka import send_events

Wait = Callable[..., Awaitable[None]]
Headers = Callable[..., dict[str, str]]


def _event(org: str, severity: str = "critical") -> tuple[BudgetThresholdCrossed, str]:
    token = uuid4().hex[:10]
    event = threshold_crossed(kind="actual", severity=severity).model_copy(  # type: ignore[arg-type]
        update={"org_id": org, "alert_id": uuid4(), "budget_id": uuid4(),
                "budget_name": f"Eval budget {token}"}
    )  # fmt: skip
    return event, token


async def _publish(producer: AIOKafkaProducer, event: BudgetThresholdCrossed) -> None:
    # ce_id = alert_id, as the budget service sends it: a re-send is the same event.
    out = cloudevents.build(event, source="test", event_id=str(event.alert_id), key=event.org_id)
    await send_events(producer, [out])


async def _deliveries(client: httpx.AsyncClient, headers: dict[str, str], **params: Any
                      ) -> list[dict[str, Any]]:  # fmt: skip
    response = await client.get("/api/v1/notifications/deliveries", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]["items"]
    return items


async def test_an_alert_arrives_once_by_email_and_once_on_slack(
    run_notifier: Any, smtp: Any, slack: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    event, token = _event(org)
    async with run_notifier(smtp_port=smtp.port, slack_url=slack.url) as running:
        await _publish(producer, event)
        await wait_for(lambda: len(smtp.matching(token)) == 1 and len(slack.matching(token)) == 1)

        async def both_recorded() -> bool:
            rows = await _deliveries(running.client, auth_headers(org), status="sent")
            return len(rows) == 2

        await wait_for(both_recorded)
        rows = await _deliveries(running.client, auth_headers(org))
        others = await _deliveries(running.client, auth_headers(f"other-{org}"))
    [mail] = smtp.matching(token)
    assert token in mail["Subject"] and "Critical" in mail["Subject"]
    assert mail.get_content_type() == "multipart/alternative"
    html, text = mail.get_body(("html",)), mail.get_body(("plain",))
    assert html is not None and text is not None
    assert f"https://rex.example.com/budgets/{event.budget_id}" in html.get_content()
    assert "Used:                     103.5%" in text.get_content()
    assert sorted((r["channel_kind"], r["status"], r["attempts"]) for r in rows) == [
        ("email", "sent", 1), ("slack", "sent", 1)
    ]  # fmt: skip
    assert {r["event_id"] for r in rows} == {str(event.alert_id)}
    assert others == []  # another org sees none of it


async def test_the_same_event_published_twice_is_sent_once(
    run_notifier: Any, smtp: Any, slack: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    event, token = _event(org)
    async with run_notifier(smtp_port=smtp.port, slack_url=slack.url) as running:
        await _publish(producer, event)
        await _publish(producer, event)
        await wait_for(lambda: len(smtp.matching(token)) == 1 and len(slack.matching(token)) == 1)
        await asyncio.sleep(2.0)  # time for a duplicate to show up, if there were one
        rows = await _deliveries(running.client, auth_headers(org))
    assert (len(smtp.matching(token)), len(slack.matching(token))) == (1, 1)
    assert len(rows) == 2


async def test_slack_429_retry_after_is_honoured_then_delivered_once(
    run_notifier: Any, smtp: Any, slack: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    event, token = _event(org, severity="warning")
    answers = iter([(429, {"Retry-After": "2"})])
    slack.respond = lambda body: next(answers, (200, {})) if token in str(body) else (200, {})
    async with run_notifier(smtp_port=smtp.port, slack_url=slack.url) as running:
        await _publish(producer, event)
        await wait_for(lambda: len(slack.matching(token, status=200)) == 1)
        await asyncio.sleep(1.0)
        rows = await _deliveries(running.client, auth_headers(org), status="sent")
    (first, status1), (second, status2) = slack.matching(token)
    assert (status1, status2) == (429, 200)
    assert second - first >= 1.95  # waited for Retry-After, not the 0.2 s backoff
    assert [r["attempts"] for r in rows if r["channel_kind"] == "slack"] == [2]


async def test_slack_400_is_dead_after_one_attempt_and_an_admin_can_retry_it(
    run_notifier: Any, smtp: Any, slack: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    event, token = _event(org)
    slack.respond = lambda body: (400, {}) if token in str(body) else (200, {})
    async with run_notifier(smtp_port=smtp.port, slack_url=slack.url) as running:
        client, admin = running.client, auth_headers(org)

        async def dead() -> list[dict[str, Any]]:
            return await _deliveries(client, admin, status="dead")

        await _publish(producer, event)
        await wait_for(lambda: _nonempty(dead()))
        [row] = await dead()
        assert (row["channel_kind"], row["attempts"]) == ("slack", 1)
        assert "HTTP 400" in row["last_error"]
        await asyncio.sleep(1.0)
        assert len(slack.matching(token)) == 1  # not retried
        retry = f"/api/v1/notifications/deliveries/{row['id']}/retry"
        viewer = await client.post(retry, headers=auth_headers(org, roles=("viewer",)))
        stranger = await client.post(retry, headers=auth_headers(f"other-{org}"))
        assert (viewer.status_code, stranger.status_code) == (403, 404)
        slack.respond = lambda body: (200, {})
        retried = await client.post(retry, headers=admin)
        assert retried.status_code == 200 and retried.json()["data"]["status"] == "pending"
        await wait_for(lambda: len(slack.matching(token, status=200)) == 1)
        again = await client.post(retry, headers=admin)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "DELIVERY_NOT_DEAD")


async def _nonempty(rows: Awaitable[list[Any]]) -> bool:
    return bool(await rows)


async def test_mail_waits_out_an_smtp_outage_and_every_alert_arrives_once(
    run_notifier: Any, smtp_down: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    # The outage is 30 s; here 5 s keeps the suite short (bench/notifier_outage.py
    # runs the 30 s one). The retry schedule is shortened to match (0.2 s doubling to 1 s).
    alerts = [_event(org) for _ in range(20)]
    async with run_notifier(smtp_port=smtp_down.port, max_attempts=50) as running:

        async def all_retrying() -> bool:
            rows = await _deliveries(running.client, auth_headers(org), status="failed")
            return len(rows) == 20 and all("SMTP" in r["last_error"] for r in rows)

        for event, _ in alerts:
            await _publish(producer, event)
        await wait_for(all_retrying)
        await asyncio.sleep(5.0)  # the outage itself: the server stays away 5 s more
        smtp_down.start()
        await wait_for(lambda: all(len(smtp_down.matching(t)) >= 1 for _, t in alerts))
        await asyncio.sleep(1.5)  # time for a duplicate to show up, if there were one
        rows = await _deliveries(running.client, auth_headers(org))
    assert [len(smtp_down.matching(t)) for _, t in alerts] == [1] * 20
    assert [r["status"] for r in rows] == ["sent"] * 20
    assert min(r["attempts"] for r in rows) >= 3  # each was retried through the outage


async def test_retries_survive_a_restart_of_the_notifier(
    run_notifier: Any, smtp_down: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    event, token = _event(org)
    group = f"notifier-test-{uuid4().hex[:10]}"
    async with run_notifier(smtp_port=smtp_down.port, group=group, max_attempts=50) as first:
        await _publish(producer, event)
        await wait_for(lambda: _nonempty(_deliveries(first.client, auth_headers(org),
                                                     status="failed")))  # fmt: skip
    smtp_down.start()  # the mail server is back while no notifier runs
    async with run_notifier(smtp_port=smtp_down.port, group=group, max_attempts=50) as second:
        await wait_for(lambda: len(smtp_down.matching(token)) == 1)
        await asyncio.sleep(1.0)
        rows = await _deliveries(second.client, auth_headers(org))
    assert len(smtp_down.matching(token)) == 1
    assert [(r["status"], r["attempts"] >= 2) for r in rows] == [("sent", True)]
