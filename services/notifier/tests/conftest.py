"""Fakes shared by the unit and wiring tiers: an in-memory deliveries table and channels."""

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from uuid import NAMESPACE_URL, uuid5

import pytest
from notifier.domain.delivery import Delivery, DeliveryError, Outcome
from notifier.messages import Rendered
from notifier.ports import NewDelivery


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
            )  # fmt: skip
        return len(new)

    async def claim(
        self, *, limit: int, lease_s: float, channel_keys: Sequence[str] = ()
    ) -> list[Delivery]:
        wanted = set(channel_keys) or {d.channel_key for d in self.rows.values()}
        due = [
            d
            for d in self.rows.values()
            if d.status in ("pending", "failed") and d.channel_key in wanted
        ][:limit]
        claimed = [replace(d, attempts=d.attempts + 1, status="failed") for d in due]
        for d in claimed:
            self.rows[(d.event_id, d.channel_key)] = replace(d, status="pending")
        return claimed

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


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def make_channel() -> Callable[..., FakeChannel]:
    counter = itertools.count()

    def make(kind: str = "email", errors: Sequence[Exception | DeliveryError] = ()) -> FakeChannel:
        return FakeChannel(f"{kind}:{next(counter)}", kind, list(errors))

    return make
