"""Issue 3 on the evaluator: sealed provider keys (used, rotated, never shown), row-level
security, rate limits, security headers."""

import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
from evaluator.config import SCHEMA
from rex_shared.crypto import new_kek
from rex_shared.db import scope_to_org

Fixture = Callable[..., Any]
KEY = "sk-org-own-key-0123456789-WXYZ"
ROW = {"question": "When?", "contexts": ["It was completed in 1889."],
       "answer": "It was completed in 1889."}  # fmt: skip
K1, K2 = new_kek("k1"), new_kek("k2")


async def _dump(dsn: str, sql: str) -> str:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
            return "\n".join(str(dict(r)) for r in await conn.fetch(sql))
    finally:
        await conn.close()


async def _sim_keys(sim_url: str) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        keys: dict[str, int] = (await http.get(f"{sim_url}/_sim/keys")).json()["keys"]
    return keys


async def test_an_orgs_provider_key_is_sealed_used_rotated_and_never_shown(
    serve_evaluator: Fixture,
    auth_headers: Fixture,
    wait_finished: Fixture,
    sim_url: str,
    org: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin, viewer = auth_headers(org, "root", ("admin",)), auth_headers(org, "v", ("viewer",))
    member = auth_headers(org, "m", ("member",))
    url = "/api/v1/provider-keys"
    sim_openai = f"{sim_url}/v1"
    async with serve_evaluator(keks=K1, openai_base_url=sim_openai) as first:
        denied = await first.http.put(f"{url}/openai", json={"api_key": KEY}, headers=member)
        assert denied.status_code == 403
        stored = await first.http.put(f"{url}/openai", json={"api_key": KEY}, headers=admin)
        assert stored.status_code == 200 and stored.json()["data"]["last4"] == "...WXYZ"
        listed = await first.http.get(url, headers=viewer)
        assert [k["provider"] for k in listed.json()["data"]["items"]] == ["openai"]
        before = await _sim_keys(sim_url)
        body = {"project_id": "p", "metrics": ["faithfulness"], "rows": [ROW]}
        run = await first.http.post("/api/v1/evaluations", json=body, headers=admin)
        await wait_finished(first.http, run.json()["data"]["id"], admin)
        after = await _sim_keys(sim_url)
        responses = stored.text + listed.text + run.text
    used = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
    assert len(used) == 1 and next(iter(used.values())) == 2  # both judge calls, one key
    dump = await _dump(first.dsn, "SELECT * FROM provider_keys")
    assert KEY not in dump and KEY[-12:] not in dump and "k1" in dump
    assert KEY not in responses and KEY not in caplog.text

    async with serve_evaluator(keks=f"{K2},{K1}", openai_base_url=sim_openai) as second:
        rotated = await second.http.post(f"{url}/rotate", headers=admin)
        assert rotated.json()["data"]["rotated"] == 1
        listed = await second.http.get(url, headers=admin)
        assert listed.json()["data"]["items"][0]["kek_id"] == "k2"
        run = await second.http.post("/api/v1/evaluations", json=body, headers=admin)
        result = await wait_finished(second.http, run.json()["data"]["id"], admin)
        assert result["status"] == "completed"  # the rotated key still opens
        gone = await second.http.delete(f"{url}/openai", headers=admin)
        assert gone.status_code == 200
        assert (await second.http.get(url, headers=admin)).json()["data"]["items"] == []
        assert (await second.http.delete(f"{url}/openai", headers=admin)).status_code == 404
    assert KEY not in caplog.text


async def test_rows_of_tenant_tables_are_invisible_outside_a_scoped_transaction(
    evaluator: Any, auth_headers: Fixture, org: str
) -> None:
    body = {"project_id": "p", "metrics": ["faithfulness"], "rows": [ROW]}
    await evaluator.http.post("/api/v1/evaluations", json=body, headers=auth_headers(org))
    conn = await asyncpg.connect(evaluator.dsn, server_settings={"search_path": SCHEMA})
    try:
        unscoped = await conn.fetchval("SELECT count(*) FROM evaluations WHERE org_id = $1", org)
        async with conn.transaction():
            await scope_to_org(conn, "another-org")
            foreign = await conn.fetchval("SELECT count(*) FROM evaluations WHERE org_id = $1", org)
        async with conn.transaction():
            await scope_to_org(conn, org)
            own = await conn.fetchval("SELECT count(*) FROM evaluations WHERE org_id = $1", org)
    finally:
        await conn.close()
    assert (unscoped, foreign, own) == (0, 0, 1)


async def test_requests_past_the_rate_limit_get_429_with_retry_after(
    serve_evaluator: Fixture, auth_headers: Fixture, org: str
) -> None:
    headers = auth_headers(org)
    async with serve_evaluator(rate_limit_per_principal=3, security_headers=True) as limited:
        replies = [await limited.http.get("/api/v1/evaluations", headers=headers) for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]
    assert replies[-1].json()["error"]["code"] == "RATE_LIMITED"
    assert int(replies[-1].headers["retry-after"]) >= 1
    assert replies[0].headers["x-content-type-options"] == "nosniff"
