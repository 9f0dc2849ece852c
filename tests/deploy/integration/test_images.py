"""Each service runs as its image runs it: alone in a fresh environment built from the lock.

No container engine runs here, so each image's build is replayed without one: the same build
context its Dockerfile copies (pyproject.toml, uv.lock, shared/, its libs/, the service), the
same two `uv sync` commands into a virtual environment of its own, the migrations from their
own folder, and `python -m <package> migrate` / `serve` from a directory where the repository
is not importable. A dependency declared only by a sibling service fails the import and the test.
Environments are cached in .rex/image-envs (uv syncs them incrementally).
"""

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from rex_shared.db import provision
from rex_shared.kafka import commit_groups_at_end
from rex_testkit.infra import Infra
from rex_testkit.pg import split_dsns
from rex_testkit.ports import free_port
from rexctl.stack import SPLIT_ROLES

REPO = Path(__file__).resolve().parents[3]
ENVS = REPO / ".rex" / "image-envs"
UV = shutil.which("uv") or str(Path.home() / ".local" / "bin" / "uv")

# service -> (package, schema, env prefix, consumes from Kafka)
SERVICES = {
    "evaluator": ("evaluator", "evaluator", "REX_EVALUATOR_", False),
    "cost-ledger": ("cost_ledger", "ledger", "REX_LEDGER_", True),
    "budget": ("budget", "budget", "REX_BUDGET_", True),
    "notifier": ("notifier", "notifier", "REX_NOTIFIER_", True),
}
pytestmark = pytest.mark.timeout(600)


def build_environment(service: str) -> Path:
    """The image's builder stage: its build context, then its two `uv sync` steps."""
    context, venv = ENVS / service / "context", ENVS / service / "venv"
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy2(REPO / name, context / name)
    skip = shutil.ignore_patterns("tests", "__pycache__", ".venv", "*.pyc")
    for folder in workspace_copies(service):
        shutil.copytree(REPO / folder, context / folder, ignore=skip)
    env = {
        **_base_env(),
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_LINK_MODE": "copy",
    }
    package = f"rex-{service}"
    for extra in (["--no-install-workspace"], ["--no-editable"]):
        done = subprocess.run(
            [UV, "sync", "--frozen", "--no-dev", "--package", package, *extra],
            cwd=context, env=env, capture_output=True, text=True, timeout=400, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"uv sync for {package} failed:\n{done.stderr}"
    return venv / "bin" / "python"


def workspace_copies(service: str) -> list[str]:
    """The workspace folders its Dockerfile copies: shared/, the libs/ it uses, its own."""
    lines = (REPO / "services" / service / "Dockerfile").read_text().splitlines()
    copies = [line.split() for line in lines if line.startswith("COPY ")]
    sources = [words[1] for words in copies if not words[1].startswith("--from")]
    return [s.rstrip("/") for s in sources if s.startswith(("shared/", "libs/", "services/"))]


def _base_env() -> dict[str, str]:
    # What an image has: no virtualenv, no PYTHONPATH, nothing pointing into the repository.
    keep = ("PATH", "HOME", "LANG", "UV_CACHE_DIR", "UV_INDEX_URL", "SSL_CERT_FILE")
    return {k: v for k, v in os.environ.items() if k in keep}


def _split_roles(service: str, owner_dsn: str) -> dict[str, str]:
    """A service on the request and worker roles serves as them and migrates as the owner."""
    if service not in SPLIT_ROLES:
        return {}
    prefix, schema = SERVICES[service][2], SERVICES[service][1]
    request, worker = split_dsns(owner_dsn, schema=schema)
    return {
        f"{prefix}DATABASE_URL": request,
        f"{prefix}WORKER_DATABASE_URL": worker,
        f"{prefix}MIGRATE_DATABASE_URL": owner_dsn,
    }


def service_env(service: str, infra: Infra, port: int, group: str, dsn: str) -> dict[str, str]:
    prefix = SERVICES[service][2]
    return {
        **_base_env(),
        "PYTHONUNBUFFERED": "1",
        "REX_ENV": "test",
        "REX_KAFKA_BOOTSTRAP": infra.kafka_bootstrap,
        "REX_JWT_SECRET": secrets.token_urlsafe(48),
        f"{prefix}DATABASE_URL": dsn,
        **_split_roles(service, dsn),
        f"{prefix}HOST": "127.0.0.1",
        f"{prefix}PORT": str(port),
        f"{prefix}CONSUMER_GROUP": group,
        f"{prefix}MIGRATIONS_DIR": str(REPO / "migrations" / service),
    }


@asynccontextmanager
async def fresh_database(infra: Infra) -> AsyncIterator[tuple[str, Callable[[str, str], str]]]:
    """A database of its own: the shared one's schemas may be mid-change by another session."""
    name = f"rex_image_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(infra.pg_admin_dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        base, _, _ = infra.pg_admin_dsn.rpartition("/")
        yield (
            f"{base}/{name}",
            lambda role, pw: infra.service_dsn(role, pw).rsplit("/", 1)[0] + f"/{name}",
        )
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, wait_s: float = 90) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} not 200 in {wait_s}s:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_runs_alone_from_the_lock_file_as_in_its_image(
    service: str, infra: Infra, tmp_path: Path
) -> None:
    schema, consumes = SERVICES[service][1], SERVICES[service][3]
    python = await asyncio.to_thread(build_environment, service)
    assert await asyncio.to_thread(siblings_installed, service, python) == []
    async with fresh_database(infra) as (admin_dsn, dsn_of):
        await provision(admin_dsn, schema=schema, role=f"rex_{schema}", password=schema)
        group = f"image-test-{service}-{secrets.token_hex(4)}"
        if consumes:
            # The service reads only events published from now on.
            await commit_groups_at_end(infra.kafka_bootstrap, [group])
        env = service_env(service, infra, free_port(), group, dsn_of(f"rex_{schema}", schema))
        await asyncio.to_thread(run_image, service, python, env, tmp_path)


def siblings_installed(service: str, python: Path) -> list[str]:
    """Which other services' packages the environment holds (an image holds none)."""
    siblings = [p for s, (p, *_) in SERVICES.items() if s != service]
    probe = (
        "import importlib.util as u, json, sys;"
        "print(json.dumps([p for p in sys.argv[1:] if u.find_spec(p)]))"
    )
    done = subprocess.run(
        [python, "-c", probe, *siblings], capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout))


def run_image(service: str, python: Path, env: dict[str, str], tmp_path: Path) -> None:
    """`migrate`, then `serve` until ready, then SIGTERM: as the orchestrator would."""
    package, _, prefix, _ = SERVICES[service]
    port = env[f"{prefix}PORT"]
    migrated = subprocess.run(
        [python, "-m", package, "migrate"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [python, "-m", package, "serve"], cwd=tmp_path, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/health", proc, log)
        wait_for(f"http://127.0.0.1:{port}/ready", proc, log)  # its database and Kafka answer
        # SIGTERM as Kubernetes sends it: a clean exit well inside the pod's 30 s.
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its shutdown is done, so the exit is "by SIGTERM";
        # that the lifespan shutdown (consumers, relay, pool) completed is in the log.
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()[-3000:]
        assert time.monotonic() - started < 25
        assert "Application shutdown complete" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
