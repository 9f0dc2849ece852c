"""`python -m evaluator serve | migrate`."""

import argparse
import asyncio
import logging
from pathlib import Path

from rex_shared.db import migrate
from rex_shared.runtime import serve, setup_logging

from evaluator.bootstrap import create_app
from evaluator.config import SCHEMA, Settings


def migrations_dir(settings: Settings) -> Path:
    """`REX_EVALUATOR_MIGRATIONS_DIR`, else `migrations/evaluator` in the repository."""
    if settings.migrations_dir is not None:
        return settings.migrations_dir
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "migrations" / "evaluator"
        if candidate.is_dir():
            return candidate
    raise SystemExit("migrations/evaluator not found: set REX_EVALUATOR_MIGRATIONS_DIR")


def main() -> None:
    parser = argparse.ArgumentParser(prog="evaluator", description="REX evaluator service")
    parser.add_argument("command", choices=["serve", "migrate"])
    command = parser.parse_args().command
    settings = Settings()
    setup_logging(settings.log_level, json_logs=settings.env != "local")
    # The SDKs' HTTP client logs every request at INFO: one line per judge call is noise.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    if command == "migrate":
        applied = asyncio.run(
            migrate(settings.database_url, schema=SCHEMA, directory=migrations_dir(settings))
        )
        print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
        return
    app = create_app(settings)
    serve(app, host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
