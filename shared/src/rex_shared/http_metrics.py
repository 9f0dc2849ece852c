"""Request latency per route template, for every service's /metrics."""

import time
from typing import Any

from fastapi import FastAPI
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_LATENCY = Histogram(
    "rex_http_request_duration_seconds",
    "HTTP request latency by route",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class MetricsMiddleware:
    """Times every HTTP request by its route template (bounded label cardinality), as plain
    ASGI: no BaseHTTPMiddleware task and stream per request. The time runs until the app has
    sent the whole response; a request that ends in an unhandled error counts as a 500."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service
        self._series: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            self._series_for(scope["method"], path, status).observe(time.perf_counter() - start)

    def _series_for(self, method: str, path: str, status: int) -> Any:
        key = (method, path, status)
        series = self._series.get(key)
        if series is None:  # as many as routes x methods x statuses: bounded
            series = self._series[key] = REQUEST_LATENCY.labels(
                self.service, method, path, str(status)
            )
        return series


def install_metrics_middleware(app: FastAPI, service: str) -> None:
    """Time every request by its route template (bounded label cardinality)."""
    app.add_middleware(MetricsMiddleware, service=service)
