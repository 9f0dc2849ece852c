"""A private REX stack behind nginx, for the browser tests, the screenshots and the dashboard
benchmark: its own database, its own consumer groups (starting at the topics' end), free
ports, the built web app, Debian's nginx and chromium."""

import asyncio
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from rex_shared.auth import JwtVerifier
from rex_shared.db import provision
from rex_shared.kafka import commit_groups_at_end
from rex_testkit.ports import free_port
from rexctl.stack import SERVICES, Ports, Stack, repo_root

ROOT = repo_root()
WEB = ROOT / "web"
GROUPS = {"ledger": "REX_LEDGER_", "budget": "REX_BUDGET_", "notifier": "REX_NOTIFIER_"}


def _run(argv: list[str], cwd: Path = ROOT) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def ensure_tools() -> str:
    """Install nginx and chromium when missing (idempotent scripts); chromium's path."""
    _run(["bash", "deploy/tools/install-nginx.sh"])
    return _run(["bash", "deploy/tools/install-chromium.sh"]).splitlines()[-1]


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


def ensure_web_built() -> Path:
    """`npm ci` when node_modules is missing, `npm run build` when a source is newer than dist."""
    if not (WEB / "node_modules" / ".package-lock.json").is_file():
        _run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB)
    sources = [*(WEB / "src").rglob("*"), *(WEB / "public").rglob("*")]
    sources += [WEB / n for n in ("index.html", "package-lock.json", "vite.config.ts")]
    index = WEB / "dist" / "index.html"
    if not index.is_file() or index.stat().st_mtime < _newest(sources):
        _run(["npm", "run", "build"], cwd=WEB)
    return WEB / "dist"


async def _create_database(admin_dsn: str, name: str) -> str:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_dsn.rsplit("/", 1)[0] + f"/{name}"


async def _drop_database(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _provision(stack: Stack) -> None:
    for _, _, schema, _ in SERVICES:
        await provision(stack.pg_admin_dsn, schema=schema, role=f"rex_{schema}", password=schema)


@dataclass
class WebStack:
    """The running stack, nginx's address and a way to mint tokens for it."""

    stack: Stack
    verifier: JwtVerifier
    chromium: str

    @property
    def url(self) -> str:
        return self.stack.web_url()

    def token(self, org: str, user: str = "alice", role: str = "admin") -> str:
        return self.verifier.mint(sub=user, org_id=org, roles=[role], ttl_s=3600)


@contextmanager
def web_stack(
    kafka_bootstrap: str, pg_admin_dsn: str, home: Path, extra_env: dict[str, str] | None = None
) -> Iterator[WebStack]:
    """Start everything (services, sim, nginx) on free ports; stop it and drop the database."""
    chromium = ensure_tools()
    dist = ensure_web_built()
    tag = secrets.token_hex(4)
    db = f"rex_web_{tag}"
    dsn = asyncio.run(_create_database(pg_admin_dsn, db))
    groups = {prefix: f"rex-web-{tag}-{name}" for name, prefix in GROUPS.items()}
    asyncio.run(commit_groups_at_end(kafka_bootstrap, groups.values()))
    ports = Ports(
        evaluator=free_port(), ledger=free_port(), budget=free_port(), notifier=free_port(),
        sim=free_port(), smtp=free_port(), slack=free_port(), web=free_port(),
    )  # fmt: skip
    extra = {f"{prefix}CONSUMER_GROUP": group for prefix, group in groups.items()}
    extra["REX_NOTIFIER_BACKOFF_BASE_S"] = "0.5"
    extra.update(extra_env or {})
    stack = Stack(home=home, kafka_bootstrap=kafka_bootstrap, pg_admin_dsn=dsn, ports=ports,
                  extra_env=extra, with_web=True, web_dist=dist)  # fmt: skip
    try:
        asyncio.run(_provision(stack))
        stack.migrate()
        for proc in stack.processes():
            stack.start(proc, timeout=90)
        if not stack.pid_of("web"):
            raise RuntimeError("nginx did not start (is web/dist built and nginx installed?)")
        yield WebStack(stack, JwtVerifier(stack.jwt_secret()), chromium)
    except Exception:
        _dump_logs(home)
        raise
    finally:
        for proc in reversed(stack.processes()):
            stack.stop(proc.name)
        asyncio.run(_drop_database(pg_admin_dsn, db))


def _dump_logs(home: Path) -> None:
    for log in sorted((home / "logs").glob("*.log")):
        print(f"----- {log.name} (tail) -----")
        print("\n".join(log.read_text(errors="replace").splitlines()[-30:]))


def node(
    script: str, *argv: str, env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run a browser script of web/e2e with arguments (and more in the environment)."""
    return subprocess.run(
        ["node", str(WEB / "e2e" / script), *argv],
        cwd=WEB,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
