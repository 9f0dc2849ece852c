"""What every service gets from rex_shared: event metrics, log context, draining, Sentry."""

import asyncio
import io
import json
import logging
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import uvicorn
from aiokafka.structs import ConsumerRecord, TopicPartition
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from rex_shared import observability as obs
from rex_shared.app import build_app
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.consumer import raw_records
from rex_shared.kafka import send_events
from rex_shared.runtime import JsonFormatter, _Server


def record(offset: int, *, partition: int = 0, headers: Any = (), topic: str = "t") -> Any:
    return ConsumerRecord(topic, partition, offset, 0, 0, None, b"{}", None, 2, 2, tuple(headers))


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def json_logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(obs.ContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    return logger, out


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


# ---- log context


def test_log_lines_inside_a_context_carry_its_fields_and_explicit_extras_win() -> None:
    logger, out = json_logger("test.context")
    with obs.log_context(org_id="acme", event_id="e-1"):
        with obs.log_context(evaluation_id="ev-9", event_id="e-2"):
            logger.info("inner", extra={"org_id": "explicit"})
        logger.info("outer")
    logger.info("outside")
    inner, outer, outside = lines(out)
    assert (inner["org_id"], inner["event_id"], inner["evaluation_id"]) == (
        "explicit",
        "e-2",
        "ev-9",
    )
    assert (outer["org_id"], outer["event_id"]) == ("acme", "e-1")
    assert "evaluation_id" not in outer
    assert not {"org_id", "event_id"} & set(outside)


async def test_concurrent_tasks_keep_their_own_context() -> None:
    logger, out = json_logger("test.tasks")

    async def work(org: str) -> None:
        with obs.log_context(org_id=org):
            await asyncio.sleep(0.01)
            logger.info("done")

    await asyncio.gather(work("a"), work("b"))
    assert sorted(line["org_id"] for line in lines(out)) == ["a", "b"]


def test_batch_fields_name_the_event_alone_and_only_ids_the_whole_batch_shares() -> None:
    one = SimpleNamespace(org_id="acme", evaluation_id="ev", project_id="p", user_id=None)
    other = SimpleNamespace(org_id="acme", evaluation_id="ev2", project_id="p", user_id=None)
    assert obs.batch_fields([("id-1", one)]) == {
        "event_id": "id-1", "org_id": "acme", "evaluation_id": "ev", "project_id": "p",
    }  # fmt: skip
    assert obs.batch_fields([("id-1", one), ("id-2", other)]) == {
        "org_id": "acme",
        "project_id": "p",
    }


def test_record_fields_locate_a_raw_record_and_its_event_id() -> None:
    fields = obs.record_fields(record(7, partition=2, headers=[("ce_id", b"abc")]))
    assert fields == {"topic": "t", "partition": 2, "offset": 7, "event_id": "abc"}


# ---- consumer metrics


def test_lag_is_the_partition_end_minus_the_last_processed_offset() -> None:
    records = [record(3), record(4), record(5), record(0, partition=1)]
    ends = {TopicPartition("t", 0): 10, TopicPartition("t", 1): 1}
    obs.observe_batch("lagtest", obs.Records(records, ends), now=1000.0)
    assert sample("rex_consumer_lag", {"consumer": "lagtest", "topic": "t", "partition": "0"}) == 4
    assert sample("rex_consumer_lag", {"consumer": "lagtest", "topic": "t", "partition": "1"}) == 0
    assert sample("rex_consumer_last_batch_timestamp_seconds", {"consumer": "lagtest"}) == 1000.0


def test_processing_latency_runs_from_the_events_own_time() -> None:
    born = datetime(2026, 1, 1, tzinfo=UTC)
    header = [("ce_time", born.isoformat().encode())]
    labels = {"consumer": "latency", "topic": "t"}
    before = sample("rex_event_processing_latency_seconds_count", labels)
    now = (born + timedelta(seconds=42)).timestamp()
    obs.observe_batch("latency", [record(1, headers=header)], now=now)
    assert sample("rex_event_processing_latency_seconds_count", labels) == before + 1
    assert sample("rex_event_processing_latency_seconds_bucket", {**labels, "le": "30.0"}) == 0
    assert sample("rex_event_processing_latency_seconds_bucket", {**labels, "le": "60.0"}) == 1


def test_raw_records_carry_the_partition_ends_the_consumer_fetched() -> None:
    consumer = SimpleNamespace(highwater=lambda tp: {0: 12, 1: None}[tp.partition])
    message = SimpleNamespace(raw_message=(record(1), record(2, partition=1)), consumer=consumer)
    records = raw_records(message)
    assert list(records) == list(message.raw_message)
    assert records.highwaters == {TopicPartition("t", 0): 12}  # type: ignore[attr-defined]
    # FastStream's in-memory broker has no highwater: no lag, but the records all the same.
    memory = SimpleNamespace(raw_message=[record(1)], consumer=object())
    assert raw_records(memory).highwaters == {}  # type: ignore[attr-defined]


async def test_send_events_counts_what_the_broker_acknowledged_per_topic() -> None:
    class Producer:
        async def send(self, topic: str, **_: Any) -> "asyncio.Future[None]":
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

    def event(topic: str, n: int) -> OutgoingEvent:
        return OutgoingEvent(f"id-{n}", topic, "rex.x.v1", "test", datetime.now(UTC), None, b"{}")

    before = sample("rex_events_published_total", {"topic": "pub.a"})
    await send_events(Producer(), [event("pub.a", 1), event("pub.a", 2), event("pub.b", 3)])
    assert sample("rex_events_published_total", {"topic": "pub.a"}) == before + 2
    assert sample("rex_events_published_total", {"topic": "pub.b"}) >= 1


# ---- draining


def _app(seen: dict[str, Any]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        seen["draining during shutdown"] = app.state.draining

    async def ok() -> None:
        return None

    return build_app(service="svc", title="t", lifespan=lifespan, routers=[], checks={"db": ok})


def test_ready_turns_503_as_soon_as_shutdown_begins() -> None:
    seen: dict[str, Any] = {}
    app = _app(seen)
    with TestClient(app) as client:
        assert client.get("/ready").status_code == 200
    # The flag was set before the service's own shutdown ran (consumers still stopping).
    assert seen == {"draining during shutdown": True}
    response = TestClient(app).get("/ready")
    assert response.status_code == 503
    assert response.json()["error"]["details"] == {"status": "draining"}
    assert TestClient(app).get("/health").status_code == 200  # still alive


def test_the_stop_signal_marks_the_app_draining_before_uvicorn_stops() -> None:
    app = _app({})
    server = _Server(uvicorn.Config(app), app)
    server.handle_exit(signal.SIGTERM, None)
    assert app.state.draining is True
    assert server.should_exit is True


# ---- Sentry

_SENTRY = """
import gzip, http.server, json, logging, os, threading, sentry_sdk
from rex_shared.app import build_app
from rex_shared.runtime import _report_errors
got = []
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":  # sentry-sdk prefers brotli when the package is installed
            import brotli
            body = brotli.decompress(body)
        got.append(body.decode("utf-8", "replace"))
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", 0), Sink)
threading.Thread(target=server.serve_forever, daemon=True).start()
if os.environ.get("WITH_DSN"):
    os.environ["SENTRY_DSN"] = f"http://public@127.0.0.1:{server.server_port}/1"
_report_errors(build_app(service="cost-ledger", title="t", lifespan=None, routers=[], checks={}))
logging.getLogger("x").error("the ledger fell over")
sentry_sdk.flush(5)
print(json.dumps(got))
"""


def _sentry_run(with_dsn: bool) -> list[str]:
    env = {"PATH": "/usr/bin:/bin", "REX_ENV": "test", **({"WITH_DSN": "1"} if with_dsn else {})}
    done = subprocess.run(
        [sys.executable, "-c", _SENTRY], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_errors_reach_sentry_tagged_with_the_service_when_a_dsn_is_set() -> None:
    envelopes = _sentry_run(with_dsn=True)
    assert envelopes
    body = "\n".join(envelopes)
    assert "the ledger fell over" in body
    assert '"service":"cost-ledger"' in body.replace(" ", "")
    assert '"environment":"test"' in body.replace(" ", "")


def test_nothing_is_sent_without_a_dsn() -> None:
    assert _sentry_run(with_dsn=False) == []
