"""`rexctl up | down | status | token | demo`: the Makefile's commands, with readable output."""

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path

from rex_shared.auth import JwtVerifier
from rex_shared.db import provision
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from rexctl.stack import SERVICES, Stack, StackError, repo_root

console = Console(stderr=False)


def default_stack() -> Stack:
    home = Path(os.environ.get("REX_HOME", repo_root() / ".rex"))
    kafka = os.environ.get(
        "REX_KAFKA_BOOTSTRAP", f"127.0.0.1:{os.environ.get('KAFKA_PORT', '9092')}"
    )
    pg = os.environ.get(
        "REX_PG_ADMIN_DSN", f"postgresql://rex@127.0.0.1:{os.environ.get('PG_PORT', '5433')}/rex"
    )
    return Stack(home=home, kafka_bootstrap=kafka, pg_admin_dsn=pg, with_web=True)


def infra(command: str) -> None:
    script = repo_root() / "deploy" / "local" / "rexinfra.sh"
    result = subprocess.run(
        ["bash", str(script), command], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(f"rexinfra {command} failed:\n{result.stdout}{result.stderr}")


def up(stack: Stack) -> None:
    """Start everything that is not running yet; harmless to run twice."""
    procs = stack.processes()
    steps = 3 + len(procs)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<34}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("Kafka and PostgreSQL", total=steps)
        if "REX_PG_ADMIN_DSN" not in os.environ:
            infra("up")
        progress.update(task, advance=1, description="schemas and roles")
        asyncio.run(_provision(stack))
        progress.update(task, advance=1, description="migrations")
        stack.migrate()
        progress.update(task, advance=1)
        for proc in procs:
            progress.update(task, description=f"starting {proc.name}")
            stack.start(proc)
            progress.update(task, advance=1)
        progress.update(task, description="stack is up")
    print_urls(stack)


async def _provision(stack: Stack) -> None:
    for _, _, schema, _ in SERVICES:
        await provision(stack.pg_admin_dsn, schema=schema, role=f"rex_{schema}", password=schema)


def down(stack: Stack, *, keep_infra: bool = False) -> None:
    """Stop exactly what `up` started, services first."""
    for proc in reversed(stack.processes()):
        if stack.stop(proc.name):
            console.print(f"stopped {proc.name}")
    if not keep_infra and "REX_PG_ADMIN_DSN" not in os.environ:
        infra("down")
        console.print("stopped Kafka and PostgreSQL")


def status(stack: Stack) -> None:
    table = Table(title="REX local stack")
    for col in ("process", "state", "pid", "address", "log"):
        table.add_column(col)
    for proc in stack.processes():
        pid = stack.pid_of(proc.name)
        state = "[green]running" if pid else "[red]stopped"
        table.add_row(
            proc.name,
            state,
            str(pid or "-"),
            f"127.0.0.1:{proc.port}",
            str(stack.log_dir / f"{proc.name}.log"),
        )
    console.print(table)
    subprocess.run(
        ["bash", str(repo_root() / "deploy" / "local" / "rexinfra.sh"), "status"], check=False
    )


def print_urls(stack: Stack) -> None:
    table = Table(title="REX is running")
    table.add_column("what")
    table.add_column("where")
    if stack.pid_of("web"):
        table.add_row("web app and the APIs (one origin)", stack.web_url())
    else:
        table.add_row("web app", "not built: `make web` (nginx: deploy/tools/install-nginx.sh)")
    for name, *_ in SERVICES:
        table.add_row(name, f"{stack.url(name)}/docs  (OpenAPI: {stack.url(name)}/openapi.json)")
    table.add_row("simulated LLM provider", f"http://127.0.0.1:{stack.ports.sim}/v1")
    table.add_row("alert emails (SMTP sink)", f"127.0.0.1:{stack.ports.smtp} -> {stack.home}/mail")
    table.add_row(
        "Slack payloads (webhook sink)",
        f"http://127.0.0.1:{stack.ports.slack}/slack -> {stack.home}/slack",
    )
    table.add_row("Kafka / PostgreSQL", f"{stack.kafka_bootstrap} / {stack.pg_admin_dsn}")
    table.add_row("logs", str(stack.log_dir))
    console.print(table)
    console.print("Stop everything with [bold]make down[/bold].")


def token(stack: Stack, org: str, user: str, role: str, ttl: int) -> None:
    verifier = JwtVerifier(stack.jwt_secret())
    print(verifier.mint(sub=user, org_id=org, roles=[role], ttl_s=ttl))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rexctl", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start Kafka, PostgreSQL, the services and the local sinks")
    d = sub.add_parser("down", help="stop what `up` started")
    d.add_argument("--keep-infra", action="store_true")
    sub.add_parser("status", help="what runs where")
    t = sub.add_parser("token", help="mint a local JWT")
    t.add_argument("--org", default="demo-org")
    t.add_argument("--user", default="demo-user")
    t.add_argument("--role", default="admin", choices=["admin", "viewer", "member"])
    t.add_argument("--ttl", type=int, default=86400)
    sub.add_parser("demo", help="run the main job end to end and print the report")
    args = parser.parse_args(argv)
    stack = default_stack()
    try:
        if args.command == "up":
            up(stack)
        elif args.command == "down":
            down(stack, keep_infra=args.keep_infra)
        elif args.command == "status":
            status(stack)
        elif args.command == "token":
            token(stack, args.org, args.user, args.role, args.ttl)
        elif args.command == "demo":
            from rexctl.demo import run_demo

            up(stack)
            run_demo(stack)
    except StackError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":
    main()
