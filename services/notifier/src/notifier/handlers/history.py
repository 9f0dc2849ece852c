"""Use cases of the deliveries API: list, show and retry an organization's deliveries."""

from uuid import UUID

from rex_shared.errors import Conflict, NotFound

from notifier.domain.delivery import Delivery
from notifier.ports import DeliveryFilter, DeliveryReads, Position


async def list_deliveries(
    where: DeliveryFilter,
    *,
    org_id: str,
    limit: int,
    after: Position | None,
    deliveries: DeliveryReads,
) -> list[Delivery]:
    """Newest first, after the cursor position; `limit` rows at most."""
    return await deliveries.page(org_id=org_id, where=where, limit=limit, after=after)


def _visible(delivery: Delivery | None, own_user: str | None) -> Delivery | None:
    # A member sees only deliveries of their own user budgets (alerts about their spend).
    if delivery is None or own_user is None:
        return delivery
    payload = delivery.payload
    mine = payload.get("budget_type") == "user" and payload.get("entity_id") == own_user
    return delivery if mine else None


async def get_delivery(
    delivery_id: UUID, *, org_id: str, own_user: str | None, deliveries: DeliveryReads
) -> Delivery:
    """One delivery the caller may see; another org's (or user's) is not found."""
    found = await deliveries.get(org_id=org_id, delivery_id=delivery_id)
    shown = _visible(found, own_user)
    if shown is None:
        raise NotFound("delivery")
    return shown


async def retry_delivery(delivery_id: UUID, *, org_id: str, deliveries: DeliveryReads) -> Delivery:
    """Give a dead delivery a fresh set of attempts; only a dead one can be retried."""
    retried = await deliveries.retry_dead(org_id=org_id, delivery_id=delivery_id)
    if retried is not None:
        return retried
    if await deliveries.get(org_id=org_id, delivery_id=delivery_id) is None:
        raise NotFound("delivery")
    raise Conflict("DELIVERY_NOT_DEAD", "only a dead delivery can be retried")
