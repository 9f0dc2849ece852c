"""The local stack as processes: infrastructure, schemas, migrations, services and sinks."""

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES = (  # (name, package, schema, env prefix)
    ("evaluator", "evaluator", "evaluator", "REX_EVALUATOR_"),
    ("cost-ledger", "cost_ledger", "ledger", "REX_LEDGER_"),
    ("budget", "budget", "budget", "REX_BUDGET_"),
    ("notifier", "notifier", "notifier", "REX_NOTIFIER_"),
)


def repo_root() -> Path:
    """The repository this package was installed from (editable workspace)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "deploy" / "local" / "rexinfra.sh").is_file():
            return parent
    return Path.cwd()


# Services that connect as their request and worker roles; the rest still as the owner.
SPLIT_ROLES = frozenset({"notifier", "budget", "evaluator"})


@dataclass
class Ports:
    """Where each process listens (DESIGN.md section 5 defaults)."""

    evaluator: int = 8001
    ledger: int = 8002
    budget: int = 8003
    notifier: int = 8004
    sim: int = 8010
    smtp: int = 1025
    slack: int = 8020
    web: int = 8000  # nginx: the web app and the four APIs on one origin

    def of(self, service: str) -> int:
        return {
            "evaluator": self.evaluator,
            "cost-ledger": self.ledger,
            "budget": self.budget,
            "notifier": self.notifier,
        }[service]


@dataclass
class Proc:
    """One background process of the stack."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    health: str | None  # URL answering 200 when the process is up


@dataclass
class Stack:
    """A local stack rooted at `home` (pids, logs, secrets, mail) using the given infra."""

    home: Path
    kafka_bootstrap: str = "127.0.0.1:9092"
    pg_admin_dsn: str = "postgresql://rex@127.0.0.1:5433/rex"
    ports: Ports = field(default_factory=Ports)
    with_sinks: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    # nginx on ports.web serving the built web app (None: <repo>/web/dist) and the APIs; only
    # when asked (`rexctl up` asks) and when the app is built and nginx installed.
    with_web: bool = False
    web_dist: Path | None = None

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    def jwt_secret(self) -> str:
        """The local signing secret: generated on first run, never a constant in the repo."""
        path = self.home / "jwt.secret"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def service_dsn(self, schema: str, suffix: str = "") -> str:
        """The owner's DSN, or with suffix "_api" / "_worker" the request / worker role's."""
        rest = self.pg_admin_dsn.split("@", 1)[1]
        return f"postgresql://rex_{schema}{suffix}:{schema}@{rest}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports.of(service)}"

    def common_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "REX_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "REX_JWT_SECRET": self.jwt_secret(),
            "REX_ENV": "local",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def service_env(self, name: str, schema: str, prefix: str) -> dict[str, str]:
        env = self.common_env()
        env.update(
            {
                f"{prefix}DATABASE_URL": self.service_dsn(
                    schema, "_api" if name in SPLIT_ROLES else ""
                ),
                f"{prefix}WORKER_DATABASE_URL": self.service_dsn(schema, "_worker"),
                f"{prefix}MIGRATE_DATABASE_URL": self.service_dsn(schema),
                f"{prefix}PORT": str(self.ports.of(name)),
                f"{prefix}HOST": "127.0.0.1",
            }
        )
        if name == "evaluator":
            env["REX_EVALUATOR_SIM_URL"] = f"http://127.0.0.1:{self.ports.sim}"
            env.setdefault("REX_EVALUATOR_LEDGER_URL", self.url("cost-ledger"))
            env.setdefault("REX_EVALUATOR_BUDGET_URL", self.url("budget"))
        if name == "notifier":
            env.setdefault("REX_NOTIFIER_SMTP_PORT", str(self.ports.smtp))
            env.setdefault(
                "REX_NOTIFIER_SLACK_WEBHOOK_URL", f"http://127.0.0.1:{self.ports.slack}/slack"
            )
        return {**env, **self.extra_env}

    def processes(self) -> list[Proc]:
        """Every process, in start order (dependencies first)."""
        py = sys.executable
        procs = [
            Proc(
                "llm-sim",
                [py, "-m", "llm_sim", "--host", "127.0.0.1", "--port", str(self.ports.sim)],
                self.common_env(),
                self.ports.sim,
                f"http://127.0.0.1:{self.ports.sim}/health",
            )
        ]
        if self.with_sinks:
            procs += [
                Proc(
                    "smtp-sink",
                    [
                        py,
                        "-m",
                        "rexctl.sinks",
                        "smtp",
                        "--port",
                        str(self.ports.smtp),
                        "--dir",
                        str(self.home / "mail"),
                    ],
                    self.common_env(),
                    self.ports.smtp,
                    None,
                ),
                Proc(
                    "slack-sink",
                    [
                        py,
                        "-m",
                        "rexctl.sinks",
                        "webhook",
                        "--port",
                        str(self.ports.slack),
                        "--dir",
                        str(self.home / "slack"),
                    ],
                    self.common_env(),
                    self.ports.slack,
                    f"http://127.0.0.1:{self.ports.slack}/",
                ),
            ]
        for name, pkg, schema, prefix in reversed(SERVICES):  # consumers before producers
            procs.append(
                Proc(
                    name,
                    [py, "-m", pkg, "serve"],
                    self.service_env(name, schema, prefix),
                    self.ports.of(name),
                    f"{self.url(name)}/ready",
                )
            )
        web = self.web_proc()
        return [*procs, web] if web else procs

    # -- the web app behind nginx (one origin) -----------------------------------------------

    @property
    def web_root(self) -> Path:
        return self.web_dist or repo_root() / "web" / "dist"

    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.web}"

    def web_proc(self) -> Proc | None:
        """nginx on ports.web, when the web app is built and nginx is installed."""
        nginx = nginx_binary()
        if not self.with_web or nginx is None or not (self.web_root / "index.html").is_file():
            return None
        conf = self.home / "nginx" / "nginx.conf"
        render_nginx(self, conf)
        error_log = str(self.log_dir / "nginx-error.log")  # before the config is read
        argv = [nginx, "-p", str(conf.parent), "-c", str(conf), "-e", error_log]
        health = f"{self.web_url()}/nginx-health"
        return Proc("web", argv, self.common_env(), self.ports.web, health)

    def migrate_argv(self) -> list[tuple[str, list[str], dict[str, str]]]:
        py = sys.executable
        return [
            (name, [py, "-m", pkg, "migrate"], self.service_env(name, schema, prefix))
            for name, pkg, schema, prefix in SERVICES
        ]

    # -- process control -------------------------------------------------------------------

    def pid_of(self, name: str) -> int | None:
        path = self.run_dir / f"{name}.pid"
        try:
            pid = int(path.read_text())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def start(self, proc: Proc, timeout: float = 60.0) -> str:
        """Start one process unless it already runs; wait until it answers."""
        if self.pid_of(proc.name):
            return "already running"
        if port_in_use(proc.port):
            raise StackError(
                f"{proc.name}: port {proc.port} is already taken by another program"
                f" (see `ss -ltnp 'sport = :{proc.port}'`)"
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{proc.name}.log").open("ab")
        child = subprocess.Popen(
            proc.argv,
            env=proc.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=repo_root(),
        )
        (self.run_dir / f"{proc.name}.pid").write_text(str(child.pid))
        try:
            self._wait_up(proc, child, timeout)
        except StackError:
            # Not up in time: stop it rather than leave it running unwatched (a half-started
            # service still joins its consumer group and handles events).
            self.stop(proc.name, grace=5.0)
            raise
        return "started"

    def _wait_up(self, proc: Proc, child: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.poll() is not None:
                raise StackError(
                    f"{proc.name} exited with {child.returncode}; see "
                    f"{self.log_dir / (proc.name + '.log')}"
                )
            if _answers(proc):
                return
            time.sleep(0.2)
        raise StackError(
            f"{proc.name} did not become ready in {timeout:.0f}s; see "
            f"{self.log_dir / (proc.name + '.log')}"
        )

    def stop(self, name: str, grace: float = 25.0) -> bool:
        """SIGTERM, then SIGKILL after `grace` seconds; True if something was stopped."""
        pid = self.pid_of(name)
        (self.run_dir / f"{name}.pid").unlink(missing_ok=True)
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
        return True

    def kill(self, name: str) -> None:
        """SIGKILL a process at once (fault tests)."""
        pid = self.pid_of(name)
        if pid:
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        (self.run_dir / f"{name}.pid").unlink(missing_ok=True)

    def migrate(self, on_done: Callable[[str], None] = lambda _: None) -> None:
        for name, argv, env in self.migrate_argv():
            result = subprocess.run(
                argv, env=env, capture_output=True, text=True, check=False, cwd=repo_root()
            )
            if result.returncode != 0:
                raise StackError(f"{name} migrate failed:\n{result.stdout}{result.stderr}")
            on_done(name)


NGINX_TEMPLATE = Path("deploy") / "local" / "nginx" / "nginx.conf.template"


def nginx_binary() -> str | None:
    """nginx on PATH or where Debian puts it (/usr/sbin is not on every user's PATH)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    return found


def render_nginx(stack: Stack, dest: Path) -> None:
    """Write the nginx config for `stack`: its ports, REX_HOME paths and the web root."""
    values = {
        "home": str(stack.home.resolve()),
        "web_root": str(stack.web_root.resolve()),
        "web_port": str(stack.ports.web),
        "evaluator_port": str(stack.ports.evaluator),
        "ledger_port": str(stack.ports.ledger),
        "budget_port": str(stack.ports.budget),
        "notifier_port": str(stack.ports.notifier),
        # As root nginx would hand its workers to `nobody`, who may not read the checkout or
        # write under REX_HOME; so workers run as the user who started the stack, as they do
        # (without this line) for everyone else.
        "user_line": f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else "",
    }
    text = (repo_root() / NGINX_TEMPLATE).read_text()

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise StackError(f"{NGINX_TEMPLATE}: unknown placeholder {match.group(0)}")
        return values[match.group(1)]

    for folder in (stack.run_dir, stack.log_dir, dest.parent):
        folder.mkdir(parents=True, exist_ok=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):  # the template's temp paths
        (stack.home / "nginx" / sub).mkdir(parents=True, exist_ok=True)
    dest.write_text(re.sub(r"\{\{\s*(\w+)\s*\}\}", fill, text))


class StackError(RuntimeError):
    """Something in the stack could not start; the message says what and where to look."""


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _answers(proc: Proc) -> bool:
    if proc.health is None:
        return port_in_use(proc.port)
    try:
        return httpx.get(proc.health, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except OSError:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)
