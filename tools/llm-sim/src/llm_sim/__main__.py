"""`python -m llm_sim --host 127.0.0.1 --port 8010`."""

import argparse

import uvicorn

from llm_sim.app import create_app
from llm_sim.config import SimSettings


def main() -> None:
    settings = SimSettings()
    parser = argparse.ArgumentParser(prog="llm_sim", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
    )


if __name__ == "__main__":
    main()
