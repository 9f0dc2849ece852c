"""The HTTP routes of the budget service, one module per area."""

from fastapi import APIRouter

from budget.entrypoints.http import alerts, budgets, preflight


def routers() -> list[APIRouter]:
    """The routers in the order they must be matched."""
    # Fixed paths first: `/api/v1/budgets/{budget_id}` must not take "alerts" or "check".
    return [alerts.router, preflight.router, budgets.router]
