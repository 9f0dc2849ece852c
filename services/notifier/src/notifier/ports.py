"""What the handlers need from the outside world; real adapters and test fakes both fit."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from notifier.domain.channels import RateLimit
from notifier.domain.delivery import Delivery, Outcome
from notifier.domain.routing import Target
from notifier.messages import Rendered


class Channel(Protocol):
    """Somewhere a message can be sent; raises TransientError or PermanentError."""

    @property
    def key(self) -> str: ...

    @property
    def kind(self) -> str: ...

    async def send(self, message: Rendered) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to plan: one event to one channel."""

    event_id: str
    event_type: str
    org_id: str
    channel_key: str
    channel_kind: str
    payload: dict[str, Any]
    channel_id: UUID | None = None


class DeliveryStore(Protocol):
    """The deliveries table, as the consumer and the worker use it."""

    async def add(self, rows: Sequence[NewDelivery]) -> int: ...

    async def claim(
        self, *, limit: int, lease_s: float, channel_keys: Sequence[str]
    ) -> list[tuple[Delivery, float]]: ...

    async def mark_sent(self, delivery: Delivery) -> None: ...

    async def mark_failed(self, delivery: Delivery, outcome: Outcome) -> None: ...


class ChannelDirectory(Protocol):
    """The organizations' own channels, as routing targets."""

    async def targets(self, org_ids: Sequence[str]) -> dict[str, list[Target]]: ...


@dataclass(frozen=True)
class Resolved:
    """A channel ready to send, and its pace."""

    channel: Channel
    rate: RateLimit


class ChannelResolver(Protocol):
    """Finds the channel a claimed delivery goes to (None: it no longer exists)."""

    async def resolve(self, delivery: Delivery) -> Resolved | None: ...
