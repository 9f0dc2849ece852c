"""The evaluator's benchmark stack: simulated provider, cost ledger, budget and evaluator as
separate processes (rexctl's Stack on free ports, throwaway consumer groups starting at the
topics' end), on the running Kafka and PostgreSQL. Imported by the evaluator benchmarks;
run alone it measures how long the stack takes to come up.

    uv run python bench/evaluator_stack.py
"""

import asyncio
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from cost_ledger.bootstrap import migrate_and_seed
from rex_shared import topics
from rex_shared.auth import JwtVerifier
from rex_shared.db import migrate, provision
from rex_shared.kafka import commit_groups_at_end, ensure_topics
from rex_testkit.ports import free_port
from rexctl.stack import Ports, Proc, Stack

KAFKA = "127.0.0.1:9092"
PG_ADMIN = "postgresql://rex@127.0.0.1:5433/rex"
ROOT = Path(__file__).resolve().parents[1]
WANTED = ("llm-sim", "cost-ledger", "budget", "evaluator")


def _dsn(role: str, password: str) -> str:
    return f"postgresql://{role}:{password}@{PG_ADMIN.split('@', 1)[1]}"


async def _prepare(groups: dict[str, str], ledger_schema: str) -> None:
    """Topics, consumer groups at the end, schemas migrated. The ledger gets a scratch schema
    (its owner may be reworking the shared one); evaluator and budget use theirs."""
    await ensure_topics(KAFKA, topics.ALL_TOPICS)
    for schema, service in (("evaluator", "evaluator"), ("budget", "budget")):
        await provision(PG_ADMIN, schema=schema, role=f"rex_{schema}", password=schema)
        await migrate(
            _dsn(f"rex_{schema}", schema), schema=schema, directory=ROOT / "migrations" / service
        )
    role = f"rex_{ledger_schema}"
    await provision(PG_ADMIN, schema=ledger_schema, role=role, password=ledger_schema)
    await migrate_and_seed(
        _dsn(role, ledger_schema),
        schema=ledger_schema,
        directory=ROOT / "migrations" / "cost-ledger",
    )
    await commit_groups_at_end(KAFKA, groups.values())


async def _drop(schema: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.execute(f"DROP ROLE IF EXISTS rex_{schema}")
    finally:
        await conn.close()


def _worker(stack: Stack, proc: Proc, n: int) -> Proc:
    """Another evaluator instance that runs evaluations (the main one then serves the API
    only): both pick work through the database, as several instances would in production."""
    port = free_port()
    env = {**proc.env, "REX_EVALUATOR_PORT": str(port), "REX_EVALUATOR_RUN_EVALUATIONS": "true"}
    return Proc(f"evaluator-worker-{n}", proc.argv, env, port, f"http://127.0.0.1:{port}/ready")


@contextmanager
def evaluator_stack(extra_env: dict[str, str] | None = None, workers: int = 0) -> Iterator[Stack]:
    """Start the four processes on free ports (and `workers` evaluator instances that run
    the evaluations while the first serves the API); stop them when the block ends."""
    tag = secrets.token_hex(4)
    groups = {"ledger": f"cost-ledger-bench-{tag}", "budget": f"budget-bench-{tag}"}
    home = Path(tempfile.mkdtemp(prefix="rex-bench-"))
    ports = Ports(
        evaluator=free_port(),
        ledger=free_port(),
        budget=free_port(),
        notifier=free_port(),
        sim=free_port(),
        smtp=free_port(),
        slack=free_port(),
    )
    ledger_schema = f"ledger_bench{tag}"
    env = {
        "REX_LEDGER_CONSUMER_GROUP": groups["ledger"],
        "REX_BUDGET_CONSUMER_GROUP": groups["budget"],
        "REX_LOG_LEVEL": "WARNING",
        "REX_LEDGER_DB_SCHEMA": ledger_schema,
        "REX_LEDGER_DATABASE_URL": _dsn(f"rex_{ledger_schema}", ledger_schema),
        **(extra_env or {}),
    }
    stack = Stack(
        home=home,
        kafka_bootstrap=KAFKA,
        pg_admin_dsn=PG_ADMIN,
        ports=ports,
        with_sinks=False,
        extra_env=env,
    )
    asyncio.run(_prepare(groups, ledger_schema))
    started: list[str] = []
    try:
        for proc in stack.processes():
            if proc.name not in WANTED:
                continue
            if proc.name == "evaluator" and workers:
                for n in range(workers):
                    worker = _worker(stack, proc, n)
                    stack.start(worker, timeout=120)
                    started.append(worker.name)
                proc.env["REX_EVALUATOR_RUN_EVALUATIONS"] = "false"
            stack.start(proc, timeout=120)
            started.append(proc.name)
        yield stack
    finally:
        for name in reversed(started):
            stack.stop(name)
        asyncio.run(_drop(ledger_schema))


def token(stack: Stack, org: str, user: str, role: str = "admin") -> str:
    return JwtVerifier(stack.jwt_secret()).mint(sub=user, org_id=org, roles=[role], ttl_s=7200)


def main() -> None:
    start = time.monotonic()
    with evaluator_stack() as stack:
        up = time.monotonic() - start
        print(f"| stack | evaluator at {stack.url('evaluator')} | up in {up:.1f} s |")
    print(f"BENCH evaluator_stack startup={up:.1f} s target=- info")
    sys.exit(0)


if __name__ == "__main__":
    main()
