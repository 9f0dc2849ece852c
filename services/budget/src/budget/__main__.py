"""`python -m budget serve | migrate`."""

import argparse
import asyncio
import logging
from pathlib import Path

from rex_shared.db import migrate
from rex_shared.runtime import serve, setup_logging

from budget.config import SCHEMA, SERVICE, Settings

log = logging.getLogger("budget")


def migrations_dir(settings: Settings) -> Path:
    """`migrations/budget` of this repository, unless REX_BUDGET_MIGRATIONS_DIR says otherwise."""
    if settings.migrations_dir is not None:
        return settings.migrations_dir
    # Installed from the workspace, the source sits under <repo>/services/budget/src.
    for parent in [*Path(__file__).resolve().parents, Path.cwd()]:
        candidate = parent / "migrations" / SERVICE
        if candidate.is_dir():
            return candidate
    raise SystemExit("migrations/budget not found; set REX_BUDGET_MIGRATIONS_DIR")


def main(argv: list[str] | None = None) -> None:
    """Parse the command and run it."""
    parser = argparse.ArgumentParser(prog="python -m budget", description=__doc__)
    parser.add_argument("command", choices=["serve", "migrate"])
    command = parser.parse_args(argv).command
    settings = Settings()
    setup_logging(settings.log_level, json_logs=settings.env != "local")
    if command == "migrate":
        directory = migrations_dir(settings)
        applied = asyncio.run(migrate(settings.database_url, schema=SCHEMA, directory=directory))
        log.info("migrations applied: %s", ", ".join(applied) or "none pending")
        return
    from budget.bootstrap import create_app  # imported late: `migrate` needs no web stack

    serve(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


if __name__ == "__main__":
    main()
