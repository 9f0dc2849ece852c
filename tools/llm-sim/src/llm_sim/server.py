"""Run the simulator as a real HTTP server in a background thread (tests, demos)."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from llm_sim.app import create_app
from llm_sim.config import SimSettings


@contextmanager
def running(settings: SimSettings | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve on a free port until the block ends; yields the base URL."""
    sock = socket.socket()
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_level="warning", access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_started(server)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _wait_started(server: uvicorn.Server, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("simulator did not start")
        time.sleep(0.01)
