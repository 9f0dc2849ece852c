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

    @app.get("/_sim/served")
    async def served(evaluation_id: str | None = None) -> dict[str, Any]:
        """The calls served (all, or one evaluation's): billable ones with their tokens, and
        those answered with an injected fault, counted apart."""
        report: dict[str, Any] = app.state.sim.served.report(evaluation_id)
        return report

    @app.delete("/_sim/served", status_code=204)
    async def forget_served() -> None:
        """Start counting afresh (tests sharing one simulator)."""
        app.state.sim.served.reset()

    return app
