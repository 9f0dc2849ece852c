"""`POST /api/v1/notifications/channels/{id}/test`: a message marked as a test, sent at once."""

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from rex_shared.api import APIError, Envelope, NotFound, ok
from rex_shared.auth import Principal, require_role

from notifier.adapters.channels_repo import PgChannels, SecretsUnreadable
from notifier.adapters.registry import ChannelFactory
from notifier.domain.channels import StoredChannel
from notifier.domain.delivery import DeliveryError, TransientError
from notifier.domain.pacing import interval_s, slot_waits, takeable
from notifier.domain.samples import threshold_crossed
from notifier.entrypoints.deps import Caller, state
from notifier.handlers import send_test


class TestResult(BaseModel):
    """What the channel's server said to a test message."""

    channel_id: UUID
    status: Literal["sent", "failed"]
    reference: str | None
    error: str | None
    retryable: bool | None


def add_test_route(router: APIRouter, caller: Caller) -> None:
    """Admins send a sample alert, marked as a test, to one of the org's channels."""

    @router.post("/{channel_id}/test", response_model=Envelope[TestResult])
    async def test_channel(
        request: Request, channel_id: UUID, principal: Principal = Depends(caller)
    ) -> dict[str, Any]:
        require_role(principal, "admin")
        channels: PgChannels = state(request, "channels")
        try:
            found = await channels.with_secrets(org_id=principal.org_id, channel_id=channel_id)
        except SecretsUnreadable:
            raise APIError(
                409,
                "CHANNEL_SECRETS_UNREADABLE",
                "the channel's secrets do not decrypt with the configured REX_KEKS; set them again",
            ) from None
        if found is None:
            raise NotFound("channel")
        stored, secrets = found
        await _wait_for_pace(request, stored)
        factory: ChannelFactory = state(request, "factory")
        result = await _send_test(request, factory, stored, secrets, principal.org_id)
        return ok(result)


async def _wait_for_pace(request: Request, stored: StoredChannel) -> None:
    """A test send takes a slot of the channel's rate limit; none within 2 s is a 429."""
    rate, key = stored.rate, stored.key

    def one_if_soon(ahead_s: float) -> int:
        return takeable(rate, ahead_s=ahead_s, wanted=1, within_s=2.0)

    take: Callable[..., Awaitable[dict[str, tuple[float, int]]]] = state(request, "take")
    ahead, taken = (await take({key: (interval_s(rate), one_if_soon)}))[key]
    [wait] = slot_waits(rate, ahead_s=ahead, count=1)
    if not taken:
        retry = str(math.ceil(wait))
        details = {"retry_after_s": retry}
        raise APIError(
            429, "CHANNEL_RATE_LIMITED", "the channel's rate limit is reached", details
        ).with_headers({"Retry-After": retry})
    await asyncio.sleep(wait)


async def _send_test(
    request: Request,
    factory: ChannelFactory,
    stored: StoredChannel,
    secrets: dict[str, str],
    org_id: str,
) -> dict[str, Any]:
    sample = threshold_crossed(kind="actual", severity="info").model_copy(
        update={"org_id": org_id, "budget_name": "Test budget"}
    )
    timeout_s: float = state(request, "test_timeout_s")
    try:
        channel = factory.build(stored, secrets)
        reference = await asyncio.wait_for(
            send_test(channel, renderer=state(request, "renderer"), sample=sample), timeout_s
        )
    except DeliveryError as exc:
        return _result(stored, error=str(exc), retryable=isinstance(exc, TransientError))
    except TimeoutError:
        return _result(stored, error=f"no answer within {timeout_s:g} s", retryable=True)
    return _result(stored, reference=reference)


def _result(
    stored: StoredChannel,
    *,
    reference: str | None = None,
    error: str | None = None,
    retryable: bool | None = None,
) -> dict[str, Any]:
    status: Literal["sent", "failed"] = "failed" if error else "sent"
    shown = TestResult(
        channel_id=stored.id, status=status, reference=reference, error=error, retryable=retryable
    )
    return shown.model_dump(mode="json")
