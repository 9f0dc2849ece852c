"""Kafka down for a minute: a broker of our own (rexinfra with its own REX_HOME and ports,
never the shared one) is stopped for 60 s while evaluations keep being submitted and run;
their events wait in the outbox and, once the broker is back, every one of them is
published exactly once. Reports how long the backlog took to drain and what was lost.

    uv run python bench/evaluator_kafka_outage.py [--outage 60] [--evaluations 10]
"""

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
from importlib import resources
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from evaluator_stack import ROOT, _dsn, evaluator_stack, token
from rex_shared import topics
from rex_shared.kafka import ensure_topics
from rex_testkit.ports import free_port

ROWS = json.loads(resources.files("rexctl").joinpath("data/sample_rag.json").read_text())["rows"]


class OwnKafka:
    def __init__(self) -> None:
        home = Path(tempfile.mkdtemp(prefix="rex-outage-"))
        shared = ROOT / ".rex" / "kafka" / "libs"
        if shared.is_dir():
            (home / "kafka").mkdir(parents=True)
            (home / "kafka" / "libs").symlink_to(shared, target_is_directory=True)
        self.port = free_port()
        self.env = {
            **os.environ,
            "REX_HOME": str(home),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_NUM_PARTITIONS": "1",
        }

    def run(self, command: str) -> None:
        script = ROOT / "deploy" / "local" / "rexinfra.sh"
        subprocess.run(["bash", str(script), command], env=self.env, check=True,
                       capture_output=True, timeout=300)  # fmt: skip


async def pending(dsn: str, ids: list[str]) -> int:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "evaluator"})
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NULL AND"
            " convert_from(payload, 'UTF8') ~ $1", "|".join(ids) or "^$"))  # fmt: skip
    finally:
        await conn.close()


async def expected_calls(dsn: str, ids: list[str]) -> set[str]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "evaluator"})
    try:
        rows = await conn.fetch("SELECT call_id FROM llm_calls WHERE evaluation_id::text = ANY($1)",
                                ids)  # fmt: skip
        return {str(r["call_id"]) for r in rows}
    finally:
        await conn.close()


async def published(bootstrap: str) -> list[str]:
    consumer = AIOKafkaConsumer(topics.LLM_CALL_COMPLETED, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    ids: list[str] = []
    try:
        while batch := await consumer.getmany(timeout_ms=3000):
            ids += [dict(r.headers)["ce_id"].decode() for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return ids


def submit(http: httpx.Client, n: int) -> list[str]:
    body = {"project_id": "outage", "metrics": ["faithfulness"], "rows": ROWS[:3]}
    return [http.post("/api/v1/evaluations", json=body).json()["data"]["id"] for _ in range(n)]


def wait_done(http: httpx.Client, ids: list[str]) -> None:
    for evaluation_id in ids:
        while http.get(f"/api/v1/evaluations/{evaluation_id}").json()["data"]["status"] in (
            "queued", "running"):  # fmt: skip
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--evaluations", type=int, default=10)
    args = parser.parse_args()
    kafka = OwnKafka()
    kafka.run("kafka-start")
    bootstrap = f"127.0.0.1:{kafka.port}"
    asyncio.run(ensure_topics(bootstrap, topics.ALL_TOPICS, partitions=1))
    dsn = _dsn("rex_evaluator", "evaluator")
    try:
        with evaluator_stack({"REX_KAFKA_BOOTSTRAP": bootstrap}) as stack:
            headers = {"Authorization": f"Bearer {token(stack, 'bench-outage', 'bench')}"}
            with httpx.Client(base_url=stack.url("evaluator"), headers=headers, timeout=60) as http:
                kafka.run("kafka-stop")
                down_at = time.monotonic()
                ids = submit(http, args.evaluations)
                wait_done(http, ids)
                time.sleep(max(0.0, args.outage - (time.monotonic() - down_at)))
                backlog = asyncio.run(pending(dsn, ids))
                kafka.run("kafka-start")
                up_at = time.monotonic()
                while asyncio.run(pending(dsn, ids)) > 0:
                    time.sleep(0.2)
                drained = time.monotonic() - up_at
            expected = asyncio.run(expected_calls(dsn, ids))
            seen = asyncio.run(published(bootstrap))
    finally:
        kafka.run("kafka-stop")
    lost = len(expected - set(seen))
    doubled = sum(1 for i in expected if seen.count(i) > 1)
    print("| outage s | evaluations | call events | waiting at restart | drained in s | lost |"
          " published twice |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.outage:.0f} | {len(ids)} | {len(expected)} | {backlog} | {drained:.1f} |"
          f" {lost} | {doubled} |")  # fmt: skip
    verdict = "pass" if lost == 0 and doubled == 0 and backlog > 0 else "short"
    print(f"BENCH evaluator_kafka_outage lost_events={lost} events target=0 {verdict}")


if __name__ == "__main__":
    main()
