"""The real cost-ledger and budget services as HTTP servers on free ports (each in a thread
with its own event loop), on throwaway consumer groups that start at the topics' end."""

import os
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from rex_testkit.ports import free_port


@contextmanager
def serving(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` (lifespan included) on a free port until the block ends."""
    sock = socket.socket()
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def fresh_group(name: str) -> str:
    return f"{name}-evaluator-it-{secrets.token_hex(4)}"


class OwnKafka:
    """A broker of our own (deploy/local/rexinfra.sh with its own REX_HOME and ports), so a
    test can stop and start it without touching the shared one."""

    def __init__(self, repo: Path, home: Path) -> None:
        self._script = repo / "deploy" / "local" / "rexinfra.sh"
        self._home, self.port = home, free_port()
        self.starting: threading.Thread | None = None
        shared_libs = repo / ".rex" / "kafka" / "libs"
        if shared_libs.is_dir() and not (home / "kafka" / "libs").exists():
            (home / "kafka").mkdir(parents=True, exist_ok=True)
            # The jars are read-only here: link them instead of downloading them again.
            (home / "kafka" / "libs").symlink_to(shared_libs, target_is_directory=True)
        self._env = {**os.environ, "REX_HOME": str(home), "KAFKA_PORT": str(self.port),
                     "KAFKA_CONTROLLER_PORT": str(free_port()), "KAFKA_NUM_PARTITIONS": "1",
                     "KAFKA_HEAP": "256m"}  # fmt: skip

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self, command: str) -> None:
        subprocess.run(["bash", str(self._script), command], env=self._env, check=True,
                       capture_output=True, timeout=180)  # fmt: skip

    def start(self) -> None:
        self._run("kafka-start")

    def start_in_background(self) -> threading.Thread:
        """Start the JVM while other tests run (it takes ~10 s); join the thread to wait."""
        starting = threading.Thread(target=self.start, daemon=True)
        starting.start()
        return starting

    def stop(self) -> None:
        self._run("kafka-stop")
