"""A Kafka and PostgreSQL of one's own (deploy/local/rexinfra.sh in a private home on free
ports): for the fault suite, which stops and restarts them, and the soak, which must see only
its own traffic."""

import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rexctl.stack import repo_root


@dataclass
class PrivateInfra:
    """A Kafka and a PostgreSQL of one run alone: stopping them disturbs nobody else."""

    home: Path
    kafka_port: int
    controller_port: int
    pg_port: int
    fast: bool = True  # fsync off etc.: throwaway clusters only (REX_PG_FAST)

    def _run(self, command: str) -> None:
        env = {
            **os.environ,
            "REX_HOME": str(self.home),
            "KAFKA_PORT": str(self.kafka_port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "PG_PORT": str(self.pg_port),
            **({"REX_PG_FAST": "1"} if self.fast else {}),
        }
        script = repo_root() / "deploy" / "local" / "rexinfra.sh"
        subprocess.run(
            ["bash", str(script), command], env=env, check=True, capture_output=True, text=True
        )

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self._run("pg-start")
        self._run("kafka-start")

    def stop(self) -> None:
        for command in ("kafka-stop", "pg-stop"):
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(command)

    def kafka_stop(self) -> None:
        self._run("kafka-stop")

    def kafka_start(self) -> None:
        self._run("kafka-start")

    def pg_restart(self) -> None:
        self._run("pg-stop")
        self._run("pg-start")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://rex@127.0.0.1:{self.pg_port}/rex"
