"""Channels from the API, end to end: Kafka in, real SMTP (STARTTLS, TLS, login) and HTTP sinks
out; routing rules, signed webhooks a receiver verifies, test sends, dead letters, pacing."""

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from notifier.domain.samples import period_closed, threshold_crossed
from rex_shared import cloudevents
from rex_shared.events import Contract

Wait = Callable[..., Awaitable[None]]
Headers = Callable[..., dict[str, str]]
README = Path(__file__).resolve().parents[2] / "README.md"
CHANNELS = "/api/v1/notifications/channels"


def readme_verifier() -> Callable[..., bool]:
    """The verification snippet exactly as the README documents it."""
    block = re.search(r"<!-- verify -->\s*```python\n(.*?)```", README.read_text(), re.S)
    assert block, "the README lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(block.group(1), namespace)  # the documented code, run as a receiver would
    verify: Callable[..., bool] = namespace["verify_rex_signature"]
    return verify


def _threshold(org: str, severity: str = "critical") -> tuple[Contract, str]:
    token = uuid4().hex[:10]
    event = threshold_crossed(kind="actual", severity=severity).model_copy(  # type: ignore[arg-type]
        update={"org_id": org, "alert_id": uuid4(), "budget_id": uuid4(),
                "budget_name": f"Eval budget {token}"}
    )  # fmt: skip
    return event, token


async def publish(producer: AIOKafkaProducer, event: Contract, event_id: str) -> None:
    out = cloudevents.build(event, source="test", event_id=event_id, key="k")
    await producer.send_and_wait(out.topic, value=out.data, key=b"k", headers=out.headers())


async def create(client: httpx.AsyncClient, headers: dict[str, str], **spec: Any) -> dict[str, Any]:
    response = await client.post(CHANNELS, json=spec, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["data"]
    return created


async def deliveries(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications/deliveries", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]["items"]
    return items


def _webhook_spec(url: str, secret: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "webhook", "name": f"hook-{uuid4().hex[:6]}",
            "secrets": {"url": url, "signing_secret": secret}, **extra}  # fmt: skip


async def test_a_signed_webhook_is_verified_by_the_readme_receiver(
    run_notifier: Any, smtp: Any, webhook: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    verify, secret = readme_verifier(), secrets.token_hex(32)
    webhook.inspect = lambda p: None if verify(secret, p.raw, p.headers["X-Rex-Signature"]) else 401
    event, token = _threshold(org)
    async with run_notifier(smtp_port=smtp.port) as running:
        admin = auth_headers(org)
        channel = await create(running.client, admin, **_webhook_spec(webhook.url, secret))
        await publish(producer, event, str(event.alert_id))  # type: ignore[attr-defined]
        await wait_for(lambda: len(webhook.received(token)) == 1)
        await asyncio.sleep(0.5)
        rows = await deliveries(running.client, admin)
    [posted] = webhook.requests
    assert posted.status == 200
    assert posted.headers["Content-Type"] == "application/json"
    assert posted.headers["X-Rex-Timestamp"] == posted.headers["X-Rex-Signature"][2:12]
    assert posted.headers["X-Rex-Delivery-Id"] == rows[0]["id"] == posted.body["delivery_id"]
    assert posted.body["type"] == "budget.threshold.crossed" and posted.body["test"] is False
    assert posted.body["data"]["budget_name"] == f"Eval budget {token}"
    assert not verify(
        secret, posted.raw.replace(b"Eval", b"Evil"), posted.headers["X-Rex-Signature"]
    )
    assert not verify("another-secret", posted.raw, posted.headers["X-Rex-Signature"])
    assert [(r["channel_id"], r["status"]) for r in rows] == [(channel["id"], "sent")]
    assert smtp.matching(token) == []  # the org has channels: the defaults are not used


async def test_email_over_starttls_with_login_reaches_every_recipient(
    run_notifier: Any, pki: Any, producer: AIOKafkaProducer, org: str, auth_headers: Headers,
    wait_for: Wait, smtp_sink: Callable[..., Any],
) -> None:  # fmt: skip
    password = secrets.token_urlsafe(16)
    server = smtp_sink(starttls=pki.server, login=("rex", password))
    event, token = _threshold(org, severity="warning")
    async with run_notifier(smtp_port=1, smtp_ca_file=str(pki.ca_file)) as running:
        config = {"host": "localhost", "port": server.port, "tls": "starttls", "username": "rex",
                  "sender": "REX <rex@example.com>",
                  "recipients": ["a@example.com", "b@example.com"]}  # fmt: skip
        await create(running.client, auth_headers(org), kind="email", name="mail",
                     config=config, secrets={"password": password})  # fmt: skip
        await publish(producer, event, str(event.alert_id))  # type: ignore[attr-defined]
        await wait_for(lambda: len(server.matching(token)) == 1)
    [mail] = server.matching(token)
    assert mail["To"] == "a@example.com, b@example.com"
    assert server.logins == [("rex", password)]
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_email_over_implicit_tls_and_an_untrusted_certificate_is_dead(
    run_notifier: Any, pki: Any, org: str, auth_headers: Headers,
    smtp_sink: Callable[..., Any],
) -> None:  # fmt: skip
    server = smtp_sink(tls=pki.server, login=("rex", "pw-123456"))
    config = {"host": "127.0.0.1", "port": server.port, "tls": "tls", "username": "rex",
              "sender": "rex@example.com", "recipients": ["ops@example.com"]}  # fmt: skip
    async with run_notifier(smtp_port=1, smtp_ca_file=str(pki.ca_file)) as running:
        admin = auth_headers(org)
        channel = await create(running.client, admin, kind="email", name="tls", config=config,
                               secrets={"password": "pw-123456"})  # fmt: skip
        sent = await running.client.post(f"{CHANNELS}/{channel['id']}/test", headers=admin)
    async with run_notifier(smtp_port=1) as untrusting:  # without the test CA
        admin = auth_headers(org)
        refused = await untrusting.client.post(f"{CHANNELS}/{channel['id']}/test", headers=admin)
    assert sent.json()["data"]["status"] == "sent", sent.text
    [mail] = server.messages
    assert str(mail["Subject"]).startswith("[TEST] ")
    result = refused.json()["data"]
    assert (result["status"], result["retryable"]) == ("failed", False), result
    assert "certificate" in result["error"].lower()


async def test_each_kind_of_channel_sends_a_message_marked_as_a_test(
    run_notifier: Any, smtp: Any, slack: Any, webhook: Any, org: str, auth_headers: Headers,
) -> None:  # fmt: skip
    async with run_notifier(smtp_port=smtp.port) as running:
        admin, client = auth_headers(org), running.client
        email = await create(client, admin, kind="email", name="e", config={
            "host": "127.0.0.1", "port": smtp.port, "tls": "none", "sender": "rex@example.com",
            "recipients": ["ops@example.com"]})  # fmt: skip
        chat = await create(client, admin, kind="slack", name="s",
                            secrets={"webhook_url": slack.url})  # fmt: skip
        hook = await create(client, admin, **_webhook_spec(webhook.url, "k" * 40))
        results = [
            (await client.post(f"{CHANNELS}/{c['id']}/test", headers=admin)).json()["data"]
            for c in (email, chat, hook)
        ]
        viewer = await client.post(f"{CHANNELS}/{hook['id']}/test",
                                   headers=auth_headers(org, roles=("viewer",)))  # fmt: skip
        stranger = await client.post(f"{CHANNELS}/{hook['id']}/test",
                                     headers=auth_headers(f"other-{org}"))  # fmt: skip
        rows = await deliveries(client, admin)
    assert [r["status"] for r in results] == ["sent"] * 3
    [mail] = [m for m in smtp.messages if m["X-REX-Delivery-Id"] == results[0]["reference"]]
    assert str(mail["Subject"]).startswith("[TEST] ")
    assert "TEST MESSAGE" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "TEST MESSAGE" in json.dumps(slack.requests[-1].body)
    assert webhook.requests[-1].body["test"] is True
    assert (viewer.status_code, stranger.status_code) == (403, 404)
    assert rows == []  # a test send is not a delivery of an event


async def test_rules_route_each_event_to_the_channels_that_asked_for_it(
    run_notifier: Any, smtp: Any, slack: Any, webhook: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    warning, w_token = _threshold(org, severity="warning")
    critical, c_token = _threshold(org, severity="critical")
    report = period_closed(severity="info").model_copy(update={"org_id": org})
    async with run_notifier(smtp_port=smtp.port) as running:
        admin = auth_headers(org)
        await create(running.client, admin, kind="slack", name="pager",
                     secrets={"webhook_url": slack.url},
                     rules=[{"event_types": ["budget.threshold.crossed"],
                             "min_severity": "critical"}])  # fmt: skip
        await create(running.client, admin, **_webhook_spec(
            webhook.url, "k" * 40, rules=[{"event_types": ["budget.period.closed"]},
                                          {"budget_ids": [str(warning.budget_id)]}]))  # type: ignore[attr-defined]  # fmt: skip
        for event in (warning, critical):
            await publish(producer, event, str(event.alert_id))  # type: ignore[attr-defined]
        await publish(producer, report, str(uuid4()))
        await wait_for(lambda: len(slack.requests) == 1 and len(webhook.requests) == 2)
        await asyncio.sleep(0.5)
    assert c_token in json.dumps(slack.requests[0].body)
    hooked = sorted(r.body["type"] for r in webhook.requests)
    assert hooked == ["budget.period.closed", "budget.threshold.crossed"]
    assert w_token in webhook.requests[0].raw.decode() + webhook.requests[1].raw.decode()
    assert smtp.matching(w_token) == smtp.matching(c_token) == []


async def test_a_webhook_answering_400_is_dead_after_one_attempt_and_shown_by_the_api(
    run_notifier: Any, smtp: Any, webhook: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    webhook.respond = lambda body: (400, {})
    event, token = _threshold(org)
    async with run_notifier(smtp_port=smtp.port) as running:
        admin = auth_headers(org)
        channel = await create(running.client, admin, **_webhook_spec(webhook.url, "k" * 40))
        await publish(producer, event, str(event.alert_id))  # type: ignore[attr-defined]

        async def dead() -> bool:
            return bool(await deliveries(running.client, admin, status="dead"))

        await wait_for(dead)
        await asyncio.sleep(1.0)  # time for a retry to show up, if there were one
        [row] = await deliveries(running.client, admin, status="dead", channel_id=channel["id"])
        metrics = (await running.client.get("/metrics")).text
    assert 'rex_notifier_deliveries_total{channel_kind="webhook",outcome="dead"}' in metrics
    assert (row["attempts"], len(webhook.matching(token))) == (1, 1)
    assert "HTTP 400" in row["last_error"]
    assert "/services/T000" not in row["last_error"]  # the secret URL is not in the error


async def test_a_burst_waits_for_the_channels_rate_limit_instead_of_being_dropped(
    run_notifier: Any, smtp: Any, webhook: Any, producer: AIOKafkaProducer, org: str,
    auth_headers: Headers, wait_for: Wait,
) -> None:  # fmt: skip
    events = [_threshold(org) for _ in range(12)]
    async with run_notifier(smtp_port=smtp.port, pacing_inline_s=0.3) as running:
        admin = auth_headers(org)
        await create(running.client, admin, **_webhook_spec(
            webhook.url, "k" * 40, rate_limit={"per_second": 5, "burst": 2}))  # fmt: skip
        for event, _ in events:
            await publish(producer, event, str(event.alert_id))  # type: ignore[attr-defined]
        await wait_for(lambda: len(webhook.requests) == 12, within=15)
        await asyncio.sleep(0.5)
        rows = await deliveries(running.client, admin)
    times = sorted(p.at for p in webhook.requests)
    assert sorted(p.body["event_id"] for p in webhook.requests) == sorted(
        str(e.alert_id)
        for e, _ in events  # type: ignore[attr-defined]
    )
    # 2 at once, then 5 a second: the 12th goes no sooner than 10 intervals after the first.
    assert times[-1] - times[0] >= 10 * 0.2 - 0.15  # (less the first send's own latency)
    for window_start in times:  # at most burst + rate x window in any window (+1: timing slack)
        assert sum(window_start <= t < window_start + 1.0 for t in times) <= 2 + 5 + 1
    assert {(r["status"], r["attempts"]) for r in rows} == {("sent", 1)}
