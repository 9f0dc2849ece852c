"""`python -m notifier serve | migrate`."""

import argparse
import asyncio

from rex_shared.db import migrate, migrations_dir
from rex_shared.runtime import serve, setup_logging

from notifier.bootstrap import SCHEMA, create_app
from notifier.config import Settings


def main(argv: list[str] | None = None) -> None:
    """Parse the command and run it with settings read once from the environment."""
    parser = argparse.ArgumentParser(prog="python -m notifier")
    parser.add_argument("command", choices=["serve", "migrate"])
    command = parser.parse_args(argv).command
    settings = Settings()
    setup_logging(settings.log_level)
    if command == "migrate":
        directory = migrations_dir("notifier", settings.migrations_dir)
        applied = asyncio.run(migrate(settings.migrate_dsn, schema=SCHEMA, directory=directory))
        print(f"applied: {', '.join(applied) or 'nothing (up to date)'}")
        return
    serve(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


if __name__ == "__main__":
    main()
