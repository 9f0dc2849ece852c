"""A real `python -m budget serve` process on a scratch database, for crash tests and benchmarks."""

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx
from budget.config import SCHEMA, SERVICE
from rex_shared import topics
from rex_shared.auth import JwtVerifier
from rex_shared.db import migrate, provision

from rex_testkit.infra import repo_root
from rex_testkit.kafka import fresh_group
from rex_testkit.pg import split_dsns
from rex_testkit.ports import free_port

ROLE, PASSWORD = "rex_budget", "budget"  # the local convention (docs/CONVENTIONS.md)


def _with_database(dsn: str, database: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{database}"


@dataclass(frozen=True)
class ScratchDatabase:
    """A database of its own with the budget schema migrated: nothing else writes to it."""

    admin_dsn: str
    name: str

    @property
    def dsn(self) -> str:
        """The budget role's DSN on the scratch database."""
        rest = _with_database(self.admin_dsn, self.name).split("@", 1)[1]
        return f"postgresql://{ROLE}:{PASSWORD}@{rest}"

    def env(self) -> dict[str, str]:
        """The service's three DSNs: request and worker roles, and the owner for migrations."""
        api, worker = split_dsns(self.dsn, schema=SCHEMA)
        return {
            "REX_BUDGET_DATABASE_URL": api,
            "REX_BUDGET_WORKER_DATABASE_URL": worker,
            "REX_BUDGET_MIGRATE_DATABASE_URL": self.dsn,
        }

    @classmethod
    async def create(cls, admin_dsn: str, migrations: Path) -> "ScratchDatabase":
        """CREATE DATABASE, provision the role and schema, apply the migrations."""
        scratch = cls(admin_dsn, f"budget_scratch_{uuid4().hex[:10]}")
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{scratch.name}"')
        finally:
            await conn.close()
        admin_there = _with_database(admin_dsn, scratch.name)
        await provision(admin_there, schema=SCHEMA, role=ROLE, password=PASSWORD)
        await migrate(scratch.dsn, schema=SCHEMA, directory=migrations)
        return scratch

    async def drop(self) -> None:
        """DROP DATABASE (connections still open are ended first)."""
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()


def migrations_dir() -> Path:
    """`migrations/budget` of this repository."""
    return repo_root() / "migrations" / SERVICE


@dataclass
class ServeProcess:
    """`python -m budget serve` on a free port with the given REX_* environment."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, ready_within: float = 60.0) -> None:
        """Start the process and wait until /ready answers 200."""
        env = {**os.environ, **self.env, "REX_BUDGET_PORT": str(self.port)}
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "budget", "serve"], env=env, stdout=out, stderr=out
        )
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"budget serve exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise TimeoutError(f"budget serve not ready within {ready_within}s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no offset commits, no goodbyes (a crash)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait for a graceful shutdown (SIGKILL after 30 s)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass(frozen=True)
class Running:
    """A started service on a scratch database, and a way to mint its tokens."""

    process: ServeProcess
    database: ScratchDatabase
    verifier: JwtVerifier

    def headers(self, org: str, sub: str = "bench", role: str = "admin") -> dict[str, str]:
        """A bearer token for (org, sub, role)."""
        token = self.verifier.mint(sub=sub, org_id=org, roles=[role])
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def local_service(
    *,
    admin_dsn: str,
    bootstrap: str,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> AsyncIterator[Running]:
    """`python -m budget serve` on its own scratch database and a consumer group that starts
    at the end of `llm.cost.recorded`; everything is removed afterwards."""
    database = await ScratchDatabase.create(admin_dsn, migrations_dir())
    secret = secrets.token_urlsafe(48)
    group = await fresh_group(bootstrap, [topics.LLM_COST_RECORDED], prefix="budget-bench")
    process = ServeProcess(
        {
            **database.env(),
            "REX_KAFKA_BOOTSTRAP": bootstrap,
            "REX_JWT_SECRET": secret,
            "REX_ENV": "test",
            "REX_LOG_LEVEL": "WARNING",
            "REX_BUDGET_CONSUMER_GROUP": group,
            **(env or {}),
        },
        log_path=log_path,
    )
    try:
        await asyncio.to_thread(process.start)
        yield Running(process, database, JwtVerifier(secret))
    finally:
        await asyncio.to_thread(process.stop)
        await database.drop()
