"""Find or start real Kafka and PostgreSQL for tests: env addresses, then Docker, then local."""

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path


def repo_root() -> Path:
    """The repository root (the folder holding deploy/local)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "deploy" / "local").is_dir():
            return parent
    return Path.cwd()


@dataclass
class Infra:
    """Addresses of the Kafka broker and PostgreSQL admin DSN the tests use."""

    kafka_bootstrap: str
    pg_admin_dsn: str
    started_by_us: list[str] = field(default_factory=list)
    _containers: list[object] = field(default_factory=list)

    def service_dsn(self, role: str, password: str) -> str:
        """The DSN of a service role on the same server and database."""
        rest = self.pg_admin_dsn.split("@", 1)[1]
        return f"postgresql://{role}:{password}@{rest}"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def _from_containers() -> Infra:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    kafka = KafkaContainer().with_kraft()
    kafka.start()
    pg = PostgresContainer("postgres:15", username="rex", password="rex", dbname="rex")
    pg.start()
    dsn = pg.get_connection_url().replace("postgresql+psycopg2", "postgresql")
    return Infra(kafka.get_bootstrap_server(), dsn, _containers=[kafka, pg])


def _from_local_processes() -> Infra:
    script = repo_root() / "deploy" / "local" / "rexinfra.sh"
    kafka_port = int(os.environ.get("KAFKA_PORT", "9092"))
    pg_port = int(os.environ.get("PG_PORT", "5433"))
    started = []
    if not _port_open("127.0.0.1", pg_port):
        subprocess.run(
            ["bash", str(script), "pg-start"], check=True, env={**os.environ, "REX_PG_FAST": "1"}
        )
        started.append("pg")
    if not _port_open("127.0.0.1", kafka_port):
        subprocess.run(["bash", str(script), "kafka-start"], check=True)
        started.append("kafka")
    return Infra(f"127.0.0.1:{kafka_port}", f"postgresql://rex@127.0.0.1:{pg_port}/rex", started)


def acquire() -> Infra:
    """Explicit addresses first, then testcontainers where Docker answers, then local processes."""
    kafka = os.environ.get("REX_TEST_KAFKA_BOOTSTRAP")
    pg = os.environ.get("REX_TEST_PG_ADMIN_DSN")
    if kafka and pg:
        return Infra(kafka, pg)
    if os.environ.get("REX_TEST_USE_DOCKER", "auto") != "no" and _docker_answers():
        return _from_containers()
    return _from_local_processes()


def release(infra: Infra) -> None:
    """Stop only what `acquire` started."""
    for container in infra._containers:
        container.stop()  # type: ignore[attr-defined]
    script = repo_root() / "deploy" / "local" / "rexinfra.sh"
    for component in infra.started_by_us:
        subprocess.run(["bash", str(script), f"{component}-stop"], check=False)
