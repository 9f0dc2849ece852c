"""Stored secrets never appear in clear: not in the database, the logs, or any API response.

Org C plants recognisable values through the APIs of issues 3, 6 and 7: an OpenAI key
(`PUT /api/v1/provider-keys/openai`, then rotated) and notifier channels holding an SMTP password,
a webhook URL with its signing secret, and a Slack webhook URL. The channels are exercised
(`POST .../test`) against a real SMTP server that refuses the login and a webhook sink that
answers 500, so the error paths run too. Then the whole database (pg_dump), every log record
and everything the process wrote to stdout/stderr, and every API response are searched for the
planted values, in plain text, hex (bytea) and base64.
"""

import asyncio
import base64
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import httpx
import pytest
from rex_shared import cloudevents
from rex_shared.events import BudgetThresholdCrossed
from rex_testkit.http_sink import HttpSink
from rex_testkit.infra import Infra
from rex_testkit.smtp_sink import SmtpSink
from rex_testkit.waiting import eventually
from sec_world import Org, new_org, publish


def _token(kind: str) -> str:
    return f"PLANTED{kind}{secrets.token_hex(16)}"


def forms(secret: str) -> set[str]:
    """How a value may sit in a dump or a log: plain, hex (bytea), base64 at any alignment."""
    raw = secret.encode()
    found = {secret, raw.hex()}
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * pad + raw).decode().rstrip("=")
            found.add(text[4:-4] if pad else text[:-4])
    return found


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    """An SMTP server that refuses every login (so the password is really sent)."""
    with SmtpSink(login=("nobody", secrets.token_hex(16))) as server:
        yield server


@pytest.fixture
def failing_sink() -> Iterator[HttpSink]:
    """A webhook/Slack endpoint that answers 500 to everything."""
    with HttpSink(status=500) as sink:
        yield sink


class Recorder:
    """Every API response of the test, to search afterwards."""

    def __init__(self) -> None:
        self.replies: list[str] = []

    async def __call__(
        self, http: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        reply = await http.request(method, path, **kwargs)
        self.replies.append(f"{method} {path} -> {reply.status_code} {reply.headers} {reply.text}")
        return reply


async def _dump_contains(infra: Infra, needles: set[str]) -> set[str]:
    """The needles found anywhere in `pg_dump` of the whole database, streamed."""
    proc = await asyncio.create_subprocess_exec(
        "pg_dump",
        "--no-owner",
        "-d",
        infra.pg_admin_dsn,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    found, tail, overlap = set(), "", max(map(len, needles))
    while chunk := await proc.stdout.read(1 << 20):
        text = tail + chunk.decode("utf-8", "replace")
        found |= {n for n in needles if n in text}
        tail = text[-overlap:]
    _, err = await proc.communicate()
    assert proc.returncode == 0, f"pg_dump failed: {err.decode()[:500]}"
    return found


def _channels(org: Org, sink: str, smtp_port: int, planted: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "name": f"secC-{org.tag}-mail",
            "kind": "email",
            "config": {
                "host": "127.0.0.1",
                "port": smtp_port,
                "tls": "none",
                "username": "rex",
                "sender": "rex@localhost",
                "recipients": ["ops@localhost"],
            },
            "secrets": {"password": planted["smtp password"]},
        },
        {
            "name": f"secC-{org.tag}-hook",
            "kind": "webhook",
            "secrets": {
                "url": f"{sink}/hook/{planted['webhook url']}",
                "signing_secret": planted["signing secret"],
            },
        },
        {
            "name": f"secC-{org.tag}-slack",
            "kind": "slack",
            "secrets": {"webhook_url": f"{sink}/services/{planted['slack url']}"},
        },
    ]


async def _plant_provider_key(
    evaluator: Any, org: Org, rec: Recorder, planted: dict[str, str]
) -> None:
    for name in ("provider key", "rotated provider key"):
        reply = await rec(
            evaluator.http,
            "PUT",
            "/api/v1/provider-keys/openai",
            headers=org.admin,
            json={"api_key": planted[name]},
        )
        assert reply.status_code in (200, 201), f"PUT /api/v1/provider-keys/openai: {reply.text}"
        assert planted[name][-4:] in reply.text, f"the reply shows no last four: {reply.text}"
    # Re-encryption under the current key-encryption key, then the list.
    await rec(evaluator.http, "POST", "/api/v1/provider-keys/rotate", headers=org.admin)
    reply = await rec(evaluator.http, "GET", "/api/v1/provider-keys", headers=org.admin)
    assert reply.status_code == 200, f"GET /api/v1/provider-keys: {reply.text}"
    assert planted["rotated provider key"][-4:] in reply.text, reply.text
    # The key in use: an evaluation judged with the org's OpenAI key (sent to the simulator).
    body = {
        "project_id": "secrets",
        "metrics": ["faithfulness"],
        "judge": {"provider": "openai"},
        "rows": [{"question": "Q?", "contexts": ["C."], "answer": "A."}],
    }
    made = await rec(evaluator.http, "POST", "/api/v1/evaluations", headers=org.admin, json=body)
    assert made.status_code == 202, made.text
    path = f"/api/v1/evaluations/{made.json()['data']['id']}"

    async def finished() -> bool:
        reply = await rec(evaluator.http, "GET", path, headers=org.admin)
        return reply.json()["data"]["status"] not in ("queued", "running")

    await eventually(finished, within=60, what="the evaluation judged with the org's key")


async def _plant_channels(
    notifier: Any, org: Org, rec: Recorder, channels: list[dict[str, Any]]
) -> list[str]:
    ids = []
    base = "/api/v1/notifications/channels"
    for channel in channels:
        reply = await rec(notifier.http, "POST", base, headers=org.admin, json=channel)
        assert reply.status_code == 201, f"POST {base} ({channel['kind']}): {reply.text}"
        ids.append(str(reply.json()["data"]["id"]))
    await rec(notifier.http, "GET", base, headers=org.admin)
    for ident, channel in zip(ids, channels, strict=True):
        await rec(notifier.http, "GET", f"{base}/{ident}", headers=org.admin)
        renamed = {**channel, "name": channel["name"] + "-renamed"}
        await rec(notifier.http, "PUT", f"{base}/{ident}", headers=org.admin, json=renamed)
        await rec(notifier.http, "POST", f"{base}/{ident}/test", headers=org.admin)
    return ids


async def test_planted_keys_and_channel_secrets_appear_nowhere_in_clear(
    system: Any,
    verifier: Any,
    producer: Any,
    sec_infra: Infra,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    smtp: SmtpSink,
    failing_sink: HttpSink,
) -> None:
    caplog.set_level(logging.DEBUG)
    org, rec = new_org(verifier, "c"), Recorder()
    planted = {
        k: _token(k.replace(" ", "").upper())
        for k in (
            "provider key",
            "rotated provider key",
            "smtp password",
            "webhook url",
            "signing secret",
            "slack url",
        )
    }
    planted["provider key"] = f"sk-proj-{planted['provider key']}"
    problems: list[str] = []
    try:
        await _plant_provider_key(system["evaluator"], org, rec, planted)
    except AssertionError as exc:
        problems.append(f"evaluator provider keys: {exc}")
    sink = failing_sink.base
    try:
        channels = _channels(org, sink, smtp.port, planted)
        await _plant_channels(system["notifier"], org, rec, channels)
        # The secrets were used: the webhook and Slack posts arrived, the SMTP login was tried.
        await eventually(
            lambda: _used(failing_sink, smtp, 2, 1), within=20, what="the channel tests"
        )
        # And by the delivery worker, whose failures and retries are where URLs tend to leak.
        await publish(producer, _alert(org.id))
        await eventually(lambda: _used(failing_sink, smtp, 4, 2), within=30, what="the deliveries")
        await rec(
            system["notifier"].http, "GET", "/api/v1/notifications/deliveries", headers=org.admin
        )
    except AssertionError as exc:
        problems.append(f"notifier channels: {exc}")
    # Controls: what is meant to be stored in clear is found, so the search itself works.
    controls = {org.id, f"secC-{org.tag}-hook-renamed"}
    await _search_everywhere(planted, rec, caplog, capfd, sec_infra, problems, controls)
    assert not problems, "\n".join(problems)


async def _used(sink: HttpSink, smtp: SmtpSink, sent: int, logins: int) -> bool:
    return len(sink.requests) >= sent and len(smtp.logins) >= logins


def _alert(org_id: str) -> Any:
    """A critical budget alert for org C, as the budget service would publish it."""
    now = datetime.now(UTC)
    event = BudgetThresholdCrossed(
        alert_id=uuid4(),
        budget_id=uuid4(),
        budget_name="secrets test",
        budget_type="organization",
        entity_id=org_id,
        org_id=org_id,
        period_start=now - timedelta(days=1),
        period_end=now + timedelta(days=29),
        threshold=Decimal(100),
        severity="critical",
        usage_amount=Decimal("12"),
        limit_amount=Decimal("10"),
        usage_percent=Decimal(120),
        is_hard_limit=False,
        crossed_at=now,
    )
    return cloudevents.build(event, source="rex/budget", event_id=str(event.alert_id), key=org_id)


async def _search_everywhere(
    planted: dict[str, str],
    rec: Recorder,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    sec_infra: Infra,
    problems: list[str],
    controls: set[str],
) -> None:
    needles = {form: name for name, value in planted.items() for form in forms(value)}
    out, err = capfd.readouterr()
    places = {
        "API responses": "\n".join(rec.replies),
        "log records": "\n".join(
            f"{r.getMessage()} {r.exc_text or ''} {vars(r)}" for r in caplog.records
        ),
        "stdout/stderr": out + err,
    }
    for place, text in places.items():
        problems += [f"{needles[n]} found in {place}" for n in needles if n in text]
    in_dump = await _dump_contains(sec_infra, set(needles) | controls)
    problems += [f"{needles[n]} found in the database dump" for n in in_dump - controls]
    assert controls <= in_dump, f"the dump lacks the control values {controls - in_dump}"
    assert caplog.records, "no log record was captured"
