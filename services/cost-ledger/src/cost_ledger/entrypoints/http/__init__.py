"""The cost API: every route under `/api/v1/costs`, in the order the OpenAPI document lists."""

from fastapi import APIRouter

from cost_ledger.entrypoints.http import costs, prices, reports


def routers() -> list[APIRouter]:
    """The routers bootstrap mounts behind the token check and the rate limits."""
    return [costs.router, reports.router, prices.router]
