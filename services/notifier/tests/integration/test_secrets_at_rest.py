"""Planted channel secrets (SMTP password, Slack and webhook URLs, signing secret) appear in no
`pg_dump` of the notifier schema, no log line (DEBUG included) and no API response, even after
sends that succeed, fail and die."""

import asyncio
import json
import logging
import secrets
import subprocess
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from notifier.domain.samples import threshold_crossed
from rex_shared import cloudevents
from rex_testkit.infra import Infra

Headers = Callable[..., dict[str, str]]
Wait = Callable[..., Awaitable[None]]
URL = "/api/v1/notifications/channels"


def pg_dump(infra: Infra) -> str:
    """`pg_dump -h <host> -p <port> -U rex -n notifier rex`, as text."""
    dsn = urlsplit(infra.pg_admin_dsn)
    host, port = dsn.hostname or "127.0.0.1", str(dsn.port or 5432)
    user, database = dsn.username or "rex", dsn.path.lstrip("/") or "rex"
    command = ["pg_dump", "-h", host, "-p", port, "-U", user, "-n", "notifier", database]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


async def test_planted_secrets_are_in_no_dump_log_or_response(
    run_notifier: Any, infra: Infra, smtp_sink: Callable[..., Any], webhook: Any, pki: Any,
    producer: AIOKafkaProducer, org: str, auth_headers: Headers, wait_for: Wait,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    password, token, signing = (f"planted-{secrets.token_hex(12)}" for _ in range(3))
    planted = [password, token, signing]
    server = smtp_sink(starttls=pki.server, login=("rex", password))
    # The receiver answers 400 quoting the path it was called on: the token comes back in the
    # error text the notifier keeps, unless it is redacted.
    webhook.respond, webhook.echo_path = (lambda body: (400, {})), True
    hook_url = f"{webhook.url}/{token}"
    slack_url = f"http://127.0.0.1:9/services/{token}"  # nothing listens: connection refused
    responses: list[str] = []
    event = threshold_crossed(kind="actual", severity="critical").model_copy(
        update={"org_id": org, "alert_id": uuid4()}
    )
    async with run_notifier(smtp_port=1, max_attempts=2, smtp_ca_file=str(pki.ca_file)) as running:
        client, admin = running.client, auth_headers(org)
        specs = [
            {"kind": "email", "name": "mail", "secrets": {"password": password}, "config": {
                "host": "localhost", "port": server.port, "tls": "starttls", "username": "rex",
                "sender": "rex@example.com", "recipients": ["ops@example.com"]}},
            {"kind": "webhook", "name": "hook",
             "secrets": {"url": hook_url, "signing_secret": signing}},
            {"kind": "slack", "name": "chat", "secrets": {"webhook_url": slack_url}},
        ]  # fmt: skip
        ids = []
        for spec in specs:
            created = await client.post(URL, json=spec, headers=admin)
            assert created.status_code == 201, created.text
            responses.append(created.text)
            ids.append(created.json()["data"]["id"])
        out = cloudevents.build(event, source="test", event_id=str(event.alert_id))
        await producer.send_and_wait(out.topic, value=out.data, headers=out.headers())

        async def settled() -> bool:
            response = await client.get("/api/v1/notifications/deliveries", headers=admin)
            statuses = sorted(i["status"] for i in response.json()["data"]["items"])
            return statuses == ["dead", "dead", "sent"]

        await wait_for(settled)
        for channel_id in ids:
            tested = await client.post(f"{URL}/{channel_id}/test", headers=admin)
            responses.append(tested.text)
            responses.append((await client.get(f"{URL}/{channel_id}", headers=admin)).text)
        responses.append((await client.get(URL, headers=admin)).text)
        listed = await client.get("/api/v1/notifications/deliveries", headers=admin)
        responses.append(listed.text)
    await asyncio.sleep(0)
    dump = pg_dump(infra)
    captured = capfd.readouterr()
    logs = caplog.text + captured.out + captured.err

    assert org in dump and json.loads(responses[0])["data"]["secrets"]["password"] in dump
    assert set(server.logins) == {("rex", password)}  # the password did reach the server
    assert any(token in p.path for p in webhook.requests)  # the URL was used
    errors = [i["last_error"] for i in listed.json()["data"]["items"] if i["last_error"]]
    assert len(errors) == 2 and any("HTTP 400" in e for e in errors), errors
    assert any("[redacted]" in e for e in errors), errors  # the quoted path was cut out
    assert "DEBUG" in caplog.text or caplog.records  # the logs are there to search
    for secret in planted:
        assert secret not in dump, "a secret is in the database dump"
        assert secret not in logs, "a secret is in the logs"
        for response in responses:
            assert secret not in response, "a secret is in an API response"
