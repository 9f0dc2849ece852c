"""A real HTTP server standing in for Slack or a webhook receiver: keeps every POST and
answers as the test says (failures included); it can go down and come back on its port."""

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

Responder = Callable[[Any], tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class Posted:
    """One request as the sink saw it, and what it answered."""

    at: float  # time.monotonic()
    path: str
    headers: dict[str, str]
    raw: bytes
    status: int

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    @property
    def body(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.raw)


class HttpSink:
    """A ThreadingHTTPServer on 127.0.0.1:`port` (a free one by default), not started until
    `start()`; GET answers 200 (a readiness probe), POST is kept in `requests`.

    A POST is answered `status` (200 unless set), or what `respond(json_body)` returns when
    set; `inspect(posted)` may override that status after seeing the whole request. With
    `echo_path`, error replies quote the path called (as some servers do). `directory` keeps
    each accepted body as a JSON file too.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        path: str = "/hook",
        status: int = 200,
        directory: Path | None = None,
    ) -> None:
        self.port, self.path, self.status, self.echo_path = port, path, status, False
        self.respond: Responder | None = None
        self.inspect: Callable[[Posted], int | None] = lambda _: None
        self.requests: list[Posted] = []
        self._dir, self._lock = directory, threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}{self.path}"

    def matching(self, token: str, status: int | None = None) -> list[tuple[float, int]]:
        """(time, answered status) of the POSTs whose payload mentions `token`."""
        with self._lock:
            return [
                (p.at, p.status) for p in self.requests
                if token in p.text and (status is None or p.status == status)
            ]  # fmt: skip

    def received(self, token: str = "") -> list[Posted]:
        """The accepted (2xx) POSTs whose payload mentions `token`."""
        with self._lock:
            return [p for p in self.requests if token in p.text and p.status < 300]

    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str]]:
        """Decide the reply to one POST and keep it."""
        seen = Posted(time.monotonic(), path, headers, raw, 0)
        status, extra = self.respond(json.loads(raw)) if self.respond else (self.status, {})
        status = self.inspect(seen) or status
        with self._lock:
            self.requests.append(Posted(seen.at, path, headers, raw, status))
        if self._dir and status < 300:
            self._dir.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.json"
            (self._dir / name).write_text(_pretty(raw))
        return status, extra

    def start(self) -> "HttpSink":
        """Listen (again) on `port`; the first start takes a free port when it is 0."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
            self.port = self._server.server_address[1]
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening; what was received stays."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "HttpSink":
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _handler(sink: HttpSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers = sink.answer(self.path, dict(self.headers), raw)
            payload = b"ok" if status == 200 else b"invalid_payload"
            if status != 200 and sink.echo_path:
                payload += f" for {self.path}".encode()
            self._reply(status, payload, headers)

        def do_GET(self) -> None:
            self._reply(200, b"ok", {})

        def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


def _pretty(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body.decode("utf-8", "replace")
