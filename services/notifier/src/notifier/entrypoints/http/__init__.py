"""The notifications API: every route authenticated, then rate limited; the org is the token's."""

from fastapi import APIRouter, Depends
from rex_shared.auth import JwtVerifier, principal_dependency

from notifier.entrypoints.http import channel_test, channels, deliveries, preview
from notifier.entrypoints.http.deps import rate_limited


def routers(verifier: JwtVerifier) -> list[APIRouter]:
    """The `/api/v1/notifications` routes, for bootstrap to pass to build_app."""
    # Authentication is the first guard, so a request without a token is a 401 even before
    # the lifespan has built the Deps.
    guards = [Depends(principal_dependency(verifier)), Depends(rate_limited)]
    api = APIRouter(prefix="/api/v1/notifications", tags=["notifications"], dependencies=guards)
    for area in (deliveries, preview, channels, channel_test):
        api.include_router(area.router)
    return [api]
