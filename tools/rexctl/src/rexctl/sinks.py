"""Local stand-ins for the outside world: an SMTP server and a webhook (Slack) receiver.

`python -m rexctl.sinks smtp --port 1025 --dir .rex/mail` keeps every mail as an .eml file;
`python -m rexctl.sinks webhook --port 8020 --dir .rex/webhooks` keeps every POST body as JSON.
"""

import argparse
import json
import threading
import time
import uuid
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class MailCollector:
    """aiosmtpd handler keeping each message in memory and, optionally, as a file."""

    def __init__(self, directory: Path | None = None) -> None:
        self.messages: list[Message] = []
        self._dir = directory
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        with self._lock:
            self.messages.append(message_from_bytes(raw))
        if self._dir:
            self._dir.mkdir(parents=True, exist_ok=True)
            name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
            (self._dir / name).write_bytes(raw)
        return "250 Message accepted for delivery"


def start_smtp(port: int, directory: Path | None = None) -> tuple[Controller, MailCollector]:
    """Start a real SMTP server on 127.0.0.1:port in a background thread."""
    collector = MailCollector(directory)
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, collector


class WebhookSink:
    """A real HTTP server recording POSTs; scripted replies (status, headers) go first."""

    def __init__(self, port: int = 0, directory: Path | None = None) -> None:
        self.posts: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, str]]] = []
        self._dir, self._lock = directory, threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status, headers = sink._reply(self.path, dict(self.headers), body)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"error")

            def do_GET(self) -> None:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _reply(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        with self._lock:
            status, extra = self.script.pop(0) if self.script else (200, {})
            if status == 200:
                self.posts.append({"path": path, "headers": headers, "body": body.decode()})
                if self._dir:
                    self._dir.mkdir(parents=True, exist_ok=True)
                    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.json"
                    (self._dir / name).write_text(_pretty(body))
        return status, extra

    def start(self) -> "WebhookSink":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pretty(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body.decode("utf-8", "replace")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m rexctl.sinks")
    parser.add_argument("kind", choices=["smtp", "webhook"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    if args.kind == "smtp":
        start_smtp(args.port, args.dir)
    else:
        WebhookSink(args.port, args.dir).start()
    print(f"{args.kind} sink on 127.0.0.1:{args.port}, keeping messages in {args.dir}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
