"""Fixtures of the browser tests: a private stack behind nginx (see webstack.py)."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rex_testkit.infra import Infra

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webstack import WebStack, web_stack


@pytest.fixture(scope="module")
def web(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    """The services, the simulated provider and nginx serving web/dist on one free port."""
    home = tmp_path_factory.mktemp("rex-web")
    # Each judge call answers after 250 ms, so a run lasts long enough to watch it progress.
    slow = {"REX_SIM_DELAY_MS": "250"}
    with web_stack(infra.kafka_bootstrap, infra.pg_admin_dsn, home, extra_env=slow) as stack:
        yield stack
