"""Fixtures of the tracking tests: the simulated provider, served in-process."""

import pytest
from fastapi import FastAPI
from llm_sim.app import create_app as create_sim


@pytest.fixture
def sim_app() -> FastAPI:
    """A fresh simulator (empty prompt cache) for the SDKs to call."""
    return create_sim()
