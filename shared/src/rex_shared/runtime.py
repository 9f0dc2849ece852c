"""Process plumbing: logging setup and serving a FastAPI app with graceful shutdown."""

import gc
import json
import logging
import os
import sys
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from rex_shared.observability import ContextFilter, init_sentry

GC_GEN0_THRESHOLD = 10_000

# How long an idle client connection stays open (uvicorn's default is 5 s). Longer than load
# balancers' idle timeouts (AWS ALB 60 s) so they never send on a connection closing under
# them, as nginx's default (75 s); a client calling every few seconds then reuses its
# connection instead of paying a new one per request.
KEEP_ALIVE_S = 75


def settle_gc() -> None:
    """Call once a service has started: move everything built so far (modules, the app,
    pydantic schemas, price catalogs, clients) out of the garbage collector's sight, and
    collect young objects less often.

    Those objects live as long as the process; with them in view every full collection walked
    ~100k+ objects and stalled all requests in flight for tens of milliseconds (seen as the
    pre-flight routes' p99 and a tenth of the ledger's CPU per event). Frozen objects are still
    freed by reference counting; only cycles among them are never collected. `gc.unfreeze()`
    undoes it (tests that build many apps in one process).
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with any `extra` context fields (org_id, event_id, ...)."""

    _skip = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in self._skip})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    """Configure the root logger once per process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())  # event_id, org_id, ... of the work being done
    handler.setFormatter(
        JsonFormatter()
        if json_logs
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# The pod's budget after SIGTERM (terminationGracePeriodSeconds 30, preStop sleep 5 before
# it): in-flight requests get this long, then the lifespan shutdown stops the consumers, whose
# in-flight batches may take the consumer loop's grace (15 s) to finish and commit.
GRACEFUL_HTTP_S = 8.0


class _Server(uvicorn.Server):
    """uvicorn, with the app marked draining the moment the stop signal arrives."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._app.state.draining = True
        super().handle_exit(sig, frame)


def serve(
    app: FastAPI,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    graceful_timeout_s: float = GRACEFUL_HTTP_S,
) -> None:
    """Run the app; SIGTERM makes /ready 503, drains requests, then runs the lifespan shutdown."""
    _report_errors(app)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=max(1, round(graceful_timeout_s)),
        timeout_keep_alive=KEEP_ALIVE_S,
        log_config=None,
    )
    _Server(config, app).run()


def _report_errors(app: FastAPI) -> None:
    # The one setting read here rather than in a service's Settings: SENTRY_DSN is the name
    # Sentry's own tooling uses, and reading it here gives every service error reporting
    # without a change to its config (docs/operations.md).
    init_sentry(
        os.environ.get("SENTRY_DSN"),
        service=str(getattr(app.state, "service", app.title)),
        env=os.environ.get("REX_ENV", "local"),
        release=os.environ.get("SENTRY_RELEASE") or None,
    )
