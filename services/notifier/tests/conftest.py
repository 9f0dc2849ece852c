"""Fakes shared by the unit and wiring tiers: an in-memory deliveries table and channels."""

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, uuid5

import pytest
from notifier.domain.channels import RateLimit
from notifier.domain.delivery import Delivery, DeliveryError, Outcome
from notifier.domain.message import Rendered
from notifier.domain.routing import Target
from notifier.ports import NewDelivery, Resolved

UNLIMITED = RateLimit(per_second=10_000, burst=10_000)


class FakeStore:
    """DeliveryStore in memory, unique by (event_id, channel_key) like the real table."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Delivery] = {}
        self.outcomes: list[tuple[str, Outcome | None]] = []
        self.adds = 0

    async def add(self, rows: Sequence[NewDelivery]) -> int:
        self.adds += 1
        new = [r for r in rows if (r.event_id, r.channel_key) not in self.rows]
        for r in new:
            self.rows[(r.event_id, r.channel_key)] = Delivery(
                id=uuid5(NAMESPACE_URL, f"{r.event_id}/{r.channel_key}"),
                event_id=r.event_id, event_type=r.event_type, org_id=r.org_id,
                channel_key=r.channel_key, channel_kind=r.channel_kind, status="pending",
                attempts=0, next_attempt_at=datetime.now(UTC), last_error=None,
                payload=r.payload, created_at=datetime.now(UTC), sent_at=None,
                channel_id=r.channel_id,
            )  # fmt: skip
        return len(new)

    async def claim(
        self, *, limit: int, lease_s: float, channel_keys: Sequence[str] = ()
    ) -> list[tuple[Delivery, float]]:
        wanted = set(channel_keys) or {d.channel_key for d in self.rows.values()}
        now = datetime.now(UTC)
        due = [
            d
            for d in self.rows.values()
            if d.status in ("pending", "failed")
            and d.channel_key in wanted
            and d.next_attempt_at <= now
        ][:limit]
        claimed = [replace(d, attempts=d.attempts + 1, status="failed") for d in due]
        lease = timedelta(seconds=lease_s)
        for d in claimed:  # a lease, as in the table: not claimable again until it runs out
            self.rows[(d.event_id, d.channel_key)] = replace(
                d, status="pending", next_attempt_at=now + lease
            )
        return [(d, 0.0) for d in claimed]

    async def mark_sent(self, delivery: Delivery) -> None:
        self._set(delivery, "sent", None)

    async def mark_failed(self, delivery: Delivery, outcome: Outcome) -> None:
        self._set(delivery, outcome.status, outcome)

    def _set(self, delivery: Delivery, status: str, outcome: Outcome | None) -> None:
        key = (delivery.event_id, delivery.channel_key)
        self.rows[key] = replace(delivery, status=status)  # type: ignore[arg-type]
        self.outcomes.append((status, outcome))


@dataclass
class FakeChannel:
    """A channel that records messages and raises the scripted errors first."""

    key: str
    kind: str
    errors: list[Exception] = field(default_factory=list)
    sent: list[Rendered] = field(default_factory=list)

    async def send(self, message: Rendered) -> None:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)

    async def aclose(self) -> None:
        return None


class FakeRegistry:
    """ChannelResolver over a dict of fake channels, each with its rate limit."""

    def __init__(self, channels: Sequence["FakeChannel"], rate: RateLimit = UNLIMITED) -> None:
        self.channels = {c.key: Resolved(c, rate) for c in channels}  # type: ignore[arg-type]

    async def resolve(self, delivery: Delivery) -> Resolved | None:
        return self.channels.get(delivery.channel_key)


class FakeDirectory:
    """ChannelDirectory: the orgs' own channels as routing targets."""

    def __init__(self, owned: Mapping[str, list[Target]] | None = None) -> None:
        self.owned = dict(owned or {})

    async def targets(self, org_ids: Sequence[str]) -> dict[str, list[Target]]:
        return {org: self.owned[org] for org in org_ids if org in self.owned}


def targets(channels: Sequence["FakeChannel"]) -> list[Target]:
    """Default-channel targets for fake channels."""
    return [Target(c.key, c.kind) for c in channels]  # type: ignore[arg-type]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def make_channel() -> Callable[..., FakeChannel]:
    counter = itertools.count()

    def make(kind: str = "email", errors: Sequence[Exception | DeliveryError] = ()) -> FakeChannel:
        return FakeChannel(f"{kind}:{next(counter)}", kind, list(errors))

    return make


@dataclass(frozen=True)
class Fakes:
    """The fake classes, for tests that build their own (conftest is not importable)."""

    Registry: type[FakeRegistry] = FakeRegistry
    Directory: type[FakeDirectory] = FakeDirectory
    targets: Callable[[Sequence[FakeChannel]], list[Target]] = targets


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()
