"""`python -m cost_ledger serve | migrate`."""

import argparse
import asyncio

from rex_shared.db import migrations_dir
from rex_shared.runtime import serve, setup_logging

from cost_ledger.bootstrap import SERVICE, create_app, migrate_and_seed
from cost_ledger.config import Settings


def main(argv: list[str] | None = None) -> None:
    """Read the settings once and run the chosen command."""
    parser = argparse.ArgumentParser(prog="cost_ledger")
    parser.add_argument("command", choices=("serve", "migrate"))
    command = parser.parse_args(argv).command
    settings = Settings()
    setup_logging(settings.log_level)
    if command == "migrate":
        directory = migrations_dir(SERVICE, settings.migrations_dir)
        asyncio.run(migrate_and_seed(settings.database_url, schema=settings.db_schema,
                                     directory=directory))  # fmt: skip
        return
    serve(create_app(settings), host=settings.host, port=settings.port,
          log_level=settings.log_level)  # fmt: skip


if __name__ == "__main__":
    main()
