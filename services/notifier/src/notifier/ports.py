"""What the handlers need from the outside world; real adapters and test fakes both fit."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from rex_shared.events import Contract

from notifier.domain.channels import AnySpec, RateLimit, StoredChannel
from notifier.domain.delivery import Delivery, Outcome, Status
from notifier.domain.message import Rendered
from notifier.domain.pacing import Taking
from notifier.domain.routing import Target

# (created_at, id) of the last row of the previous page.
Position = tuple[datetime, UUID]


class ChannelNameTaken(Exception):
    """Another channel of the org has this name."""


class SecretsUnreadable(Exception):
    """The channel's secrets do not decrypt: its KEK is gone from REX_KEKS, or it was altered."""


class ChannelKindChanged(Exception):
    """A channel's kind cannot change; create another channel."""


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


class MessageRenderer(Protocol):
    """Turns an event into a message in every channel's format."""

    def render(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        test: bool = False,
        kind: str | None = None,
    ) -> Rendered: ...

    def render_event(
        self, event_type: str, event: Contract, *, test: bool = False, kind: str | None = None
    ) -> Rendered: ...


@dataclass(frozen=True)
class DeliveryFilter:
    """What a list may be narrowed to; `own_user` limits a member to their user budgets."""

    status: Status | None = None
    channel_id: UUID | None = None
    channel_kind: str | None = None
    event_type: str | None = None
    event_id: str | None = None
    budget_id: UUID | None = None
    own_user: str | None = None


class DeliveryReads(Protocol):
    """The deliveries as the API reads and retries them, scoped to one organization."""

    async def page(
        self, *, org_id: str, where: DeliveryFilter, limit: int, after: Position | None
    ) -> list[Delivery]: ...

    async def get(self, *, org_id: str, delivery_id: UUID) -> Delivery | None: ...

    async def retry_dead(self, *, org_id: str, delivery_id: UUID) -> Delivery | None: ...


class ChannelStore(Protocol):
    """The organizations' channels, secrets sealed; raises ChannelNameTaken and friends."""

    async def create(
        self, *, org_id: str, spec: AnySpec, rate: RateLimit, secrets: dict[str, str]
    ) -> StoredChannel: ...

    async def update(
        self,
        *,
        org_id: str,
        channel_id: UUID,
        spec: AnySpec,
        rate: RateLimit,
        secrets: dict[str, str] | None,
    ) -> StoredChannel | None: ...

    async def delete(self, *, org_id: str, channel_id: UUID) -> bool: ...

    async def get(self, *, org_id: str, channel_id: UUID) -> StoredChannel | None: ...

    async def page(
        self, *, org_id: str, kind: str | None, limit: int, after: Position | None
    ) -> list[StoredChannel]: ...

    async def with_secrets(
        self, *, org_id: str, channel_id: UUID
    ) -> tuple[StoredChannel, dict[str, str]] | None: ...


class SlotTaker(Protocol):
    """Takes slots from channels' rate-limit buckets: (seconds ahead, slots taken) per key."""

    async def __call__(self, wanted: Mapping[str, Taking]) -> dict[str, tuple[float, int]]: ...


class ChannelBuilder(Protocol):
    """Builds the adapter of a stored channel from its row and secrets."""

    def build(self, stored: StoredChannel, secrets: Mapping[str, str]) -> Channel: ...
