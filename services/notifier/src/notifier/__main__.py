"""`python -m notifier serve | migrate`."""

import argparse
import asyncio
from pathlib import Path

from rex_shared.db import migrate
from rex_shared.runtime import serve, setup_logging

from notifier.bootstrap import SCHEMA, create_app
from notifier.config import Settings


def migrations_dir(settings: Settings) -> Path:
    """REX_NOTIFIER_MIGRATIONS_DIR, else `migrations/notifier` in the nearest enclosing repo."""
    if settings.migrations_dir:
        return Path(settings.migrations_dir)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "migrations" / "notifier"
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "migrations" / "notifier"


def main(argv: list[str] | None = None) -> None:
    """Parse the command and run it with settings read once from the environment."""
    parser = argparse.ArgumentParser(prog="python -m notifier")
    parser.add_argument("command", choices=["serve", "migrate"])
    command = parser.parse_args(argv).command
    settings = Settings()
    setup_logging(settings.log_level)
    if command == "migrate":
        applied = asyncio.run(
            migrate(settings.database_url, schema=SCHEMA, directory=migrations_dir(settings))
        )
        print(f"applied: {', '.join(applied) or 'nothing (up to date)'}")
        return
    serve(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


if __name__ == "__main__":
    main()
