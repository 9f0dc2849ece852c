"""The independent price oracle agrees with a hand computation from genai-prices' data."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from rex_shared.events import LlmCallCompleted, Usage
from rexctl.oracle import independent_cost, independent_cost_of

AT = datetime(2026, 11, 1, tzinfo=UTC)


def test_gpt_4o_mini_with_cached_input() -> None:
    # gpt-4o-mini: $0.15 per 1M input, $0.075 per 1M cached input, $0.60 per 1M output.
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=200_000, output_tokens=100_000)
    cost = independent_cost("openai", "gpt-4o-mini", usage, AT)
    assert cost == Decimal("0.12") + Decimal("0.015") + Decimal("0.06")


def test_an_event_is_priced_by_its_own_model_and_time() -> None:
    usage = Usage(input_tokens=1000, output_tokens=200)
    event = LlmCallCompleted.model_validate(
        {
            "call_id": str(uuid4()), "org_id": "o", "project_id": "p", "user_id": "u",
            "provider": "openai", "model": "gpt-4o-mini", "requested_model": "gpt-4o-mini",
            "api": "chat.completions", "started_at": AT, "completed_at": AT, "latency_ms": 5,
            "status": "succeeded", "usage": usage,
        }
    )  # fmt: skip
    assert independent_cost_of(event) == independent_cost("openai", "gpt-4o-mini", usage, AT)
