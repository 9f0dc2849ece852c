"""The evaluator's HTTP routes, one module per area."""

from fastapi import APIRouter

from evaluator.entrypoints.http import datasets, evaluations, keys


def routers() -> list[APIRouter]:
    """Every area's routes, in the order of the API document."""
    return [evaluations.router, datasets.router, keys.router]
