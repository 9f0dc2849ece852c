"""`POST /api/v1/notifications/channels/{id}/test`: a message marked as a test, sent at once."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from rex_shared.api import Envelope, ok
from rex_shared.auth import require_role

from notifier.entrypoints.http.deps import DepsDep, PrincipalDep
from notifier.entrypoints.http.views import TestResult, test_result_view
from notifier.handlers.channel_test import send_channel_test

router = APIRouter(prefix="/channels")


@router.post("/{channel_id}/test", response_model=Envelope[TestResult])
async def test_channel(channel_id: UUID, principal: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
    # Admins send a sample alert, marked as a test, to one of the org's channels.
    require_role(principal, "admin")
    result = await send_channel_test(
        channel_id,
        org_id=principal.org_id,
        channels=deps.channels,
        take=deps.take,
        factory=deps.factory,
        renderer=deps.renderer,
        timeout_s=deps.test_timeout_s,
    )
    return ok(test_result_view(result))
