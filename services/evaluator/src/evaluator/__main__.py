"""`python -m evaluator serve | migrate`."""

import argparse
import asyncio
import logging

from rex_shared.db import migrate, migrations_dir
from rex_shared.runtime import serve, setup_logging

from evaluator.bootstrap import create_app
from evaluator.config import SCHEMA, Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="evaluator", description="REX evaluator service")
    parser.add_argument("command", choices=["serve", "migrate"])
    command = parser.parse_args().command
    settings = Settings()
    setup_logging(settings.log_level, json_logs=settings.env != "local")
    # The SDKs' HTTP client logs every request at INFO: one line per judge call is noise.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    if command == "migrate":
        directory = migrations_dir("evaluator", settings.migrations_dir)
        applied = asyncio.run(migrate(settings.migrate_dsn, schema=SCHEMA, directory=directory))
        print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
        return
    app = create_app(settings)
    serve(app, host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
