"""`make token` / `rexctl token` mint local tokens that the services accept.

In a fresh REX_HOME the secret is generated on first use (never a constant in the repo), kept
private (0600) and reused; a service built with that secret accepts the tokens with the role
they name, and refuses a token minted under another home's secret.
"""

import asyncio
import os
import secrets
from pathlib import Path
from typing import Any

import jwt
from rex_testkit.infra import repo_root
from sec_apps import Common, running


async def _mint(home: Path, *argv: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=repo_root(),
        env={**os.environ, "REX_HOME": str(home)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, f"{argv}: {err.decode()[-1000:]}"
    return out.decode().strip().splitlines()[-1]


async def test_make_token_mints_tokens_a_service_with_the_same_secret_accepts(
    common: Common, tmp_path: Path
) -> None:
    home, org = tmp_path / "rex-home", f"org-mk-{secrets.token_hex(5)}"
    admin = await _mint(
        home, "uv", "run", "rexctl", "token", "--org", org, "--user", "ada", "--role", "admin"
    )
    secret_file = home / "jwt.secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    claims = jwt.decode(admin, secret, algorithms=["HS256"], audience="rex-api", issuer="rex")
    assert (claims["org_id"], claims["sub"], claims["roles"]) == (org, "ada", ["admin"])
    viewer = await _mint(home, "make", "-s", "token", f"ORG={org}", "USER_ID=bob", "ROLE=viewer")
    assert secret_file.read_text().strip() == secret, "the secret changed between two mints"
    stranger = await _mint(tmp_path / "other-home", "uv", "run", "rexctl", "token", "--org", org)
    async with running(Common(common.infra, secret, common.keks), "budget") as budget:
        await _check(budget.http, admin, viewer, stranger, org)


async def _check(http: Any, admin: str, viewer: str, stranger: str, org: str) -> None:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    body = {
        "name": "made with make token",
        "type": "organization",
        "limit_amount": "5",
        "period": "monthly",
        "is_hard_limit": False,
    }
    created = await http.post("/api/v1/budgets", headers=bearer(admin), json=body)
    assert created.status_code == 201, created.text
    listed = await http.get("/api/v1/budgets", headers=bearer(viewer))
    assert listed.status_code == 200, listed.text
    assert [b["entity_id"] for b in listed.json()["data"]["items"]] == [org]
    denied = await http.post("/api/v1/budgets", headers=bearer(viewer), json=body)
    assert denied.status_code == 403, denied.text
    foreign = await http.get("/api/v1/budgets", headers=bearer(stranger))
    assert foreign.status_code == 401, f"a token of another home's secret: {foreign.text}"
