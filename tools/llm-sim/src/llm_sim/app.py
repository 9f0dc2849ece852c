"""The simulator's FastAPI app."""

from typing import Any

from fastapi import FastAPI

from llm_sim import anthropic_api, openai_api
from llm_sim.config import SimSettings
from llm_sim.faults import SimState


def create_app(settings: SimSettings | None = None) -> FastAPI:
    """An app answering both wire formats, with its own cache and fault state."""
    app = FastAPI(title="REX simulated LLM provider", version="0.1.0")
    app.state.sim = SimState.create(settings or SimSettings())
    app.include_router(openai_api.router)
    app.include_router(anthropic_api.router)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/_sim/keys")
    async def keys() -> dict[str, Any]:
        """Requests per API key fingerprint (sha256 prefix), to check whose key was used."""
        return {"keys": dict(app.state.sim.keys_seen)}

    return app
