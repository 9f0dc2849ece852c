"""What the handlers need from the outside world; real adapters and test fakes both fit."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from notifier.domain.delivery import Delivery, Outcome
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


class DeliveryStore(Protocol):
    """The deliveries table, as the consumer and the worker use it."""

    async def add(self, rows: Sequence[NewDelivery]) -> int: ...

    async def claim(
        self, *, limit: int, lease_s: float, channel_keys: Sequence[str]
    ) -> list[Delivery]: ...

    async def mark_sent(self, delivery: Delivery) -> None: ...

    async def mark_failed(self, delivery: Delivery, outcome: Outcome) -> None: ...
