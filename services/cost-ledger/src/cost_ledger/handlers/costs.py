"""An evaluation's costs, and the price of a hypothetical call."""

from datetime import datetime
from typing import Any
from uuid import UUID

from rex_shared.errors import Invalid, NotFound
from rex_shared.events import Usage

from cost_ledger.domain.pricebook import PriceBook, Quote
from cost_ledger.ports import CostReports


async def evaluation_costs(
    evaluation_id: UUID, *, org_id: str, user_id: str | None, reports: CostReports
) -> Any:
    """The evaluation's totals and per-metric rows (members: only their own evaluations)."""
    found = await reports.evaluation_costs(
        evaluation_id=evaluation_id, org_id=org_id, user_id=user_id
    )
    if found is None:
        raise NotFound("evaluation costs")
    return found


def estimate(
    usage: Usage, *, provider: str, model: str, at: datetime, service_tier: str | None,
    batch: bool, org_id: str, book: PriceBook,
) -> Quote:  # fmt: skip
    """Price a usage as the ledger would have at `at` (the org's own prices first)."""
    quote = book.quote(usage, provider=provider, model=model, at=at, service_tier=service_tier,
                       batch=batch, org_id=org_id)  # fmt: skip
    if quote.model_id is None:
        raise Invalid("UNKNOWN_MODEL", f"no price known for {provider}/{model}")
    if quote.row is None:
        raise Invalid("NO_PRICE", "no catalog row in force at that time")
    return quote
