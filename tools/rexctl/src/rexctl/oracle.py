"""What genai-prices says an LLM call costs, with no REX pricing code in between.

The independent answer the tests and benchmarks hold the ledger to: a call's usage in the
canonical shape, priced by genai-prices' own data at the moment the call completed."""

from datetime import datetime
from decimal import Decimal

from genai_prices import Usage as PriceUsage
from genai_prices import calc_price
from rex_shared.events import LlmCallCompleted, Usage


def independent_cost(provider: str, model: str, usage: Usage, at: datetime) -> Decimal:
    """The price of one call of `model` at `provider` with `usage`, completed at `at`."""
    price = calc_price(
        PriceUsage(
            input_tokens=usage.input_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            output_tokens=usage.output_tokens,
        ),
        model_ref=model,
        provider_id=provider,
        genai_request_timestamp=at,
    )
    return Decimal(price.total_price)


def independent_cost_of(event: LlmCallCompleted) -> Decimal:
    """The price of a recorded call (its own provider, model, usage and completion time)."""
    return independent_cost(event.provider, event.model, event.usage, event.completed_at)
