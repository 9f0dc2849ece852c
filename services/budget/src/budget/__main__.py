"""`python -m budget serve | migrate`."""

import argparse
import asyncio
import logging

from rex_shared.db import migrate, migrations_dir
from rex_shared.runtime import serve, setup_logging

from budget.config import SCHEMA, SERVICE, Settings

log = logging.getLogger("budget")


def main(argv: list[str] | None = None) -> None:
    """Parse the command and run it."""
    parser = argparse.ArgumentParser(prog="python -m budget", description=__doc__)
    parser.add_argument("command", choices=["serve", "migrate"])
    command = parser.parse_args(argv).command
    settings = Settings()
    setup_logging(settings.log_level, json_logs=settings.env != "local")
    if command == "migrate":
        directory = migrations_dir(SERVICE, settings.migrations_dir)
        applied = asyncio.run(migrate(settings.migrate_dsn, schema=SCHEMA, directory=directory))
        log.info("migrations applied: %s", ", ".join(applied) or "none pending")
        return
    from budget.bootstrap import create_app  # imported late: `migrate` needs no web stack

    serve(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


if __name__ == "__main__":
    main()
