"""Every (model, usage) vector costs exactly what an independent computation says: zero difference.

Independent means: genai_prices.calc_price (its own decomposition and tier logic) where it covers
the case, and the provider's published $/MTok rates typed in by hand, times tokens, otherwise.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import genai_prices
import pytest
from cost_ledger.domain.catalog import seed_rows
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from rex_shared.events import Usage

BOOK = PriceBook(seed_rows(), ModelResolver())
BATCH = {"processing": "batch"}


def mtok(*pairs: tuple[int, str], searches: tuple[int, str] = (0, "0")) -> Decimal:
    """Tokens x published $/MTok, plus web searches x $ per search."""
    total = sum((Decimal(n) * Decimal(rate) for n, rate in pairs), Decimal(0))
    return total / 1_000_000 + Decimal(searches[0]) * Decimal(searches[1])


@dataclass(frozen=True)
class V:
    """A vector: the call, and what it must cost."""

    id: str
    provider: str
    model: str
    at: str
    usage: dict[str, int]
    hand: Decimal | None = None
    genai: dict[str, str] | None = None  # price context for genai_prices.calc_price
    tier: str | None = None
    batch: bool = False


def g(ctx: dict[str, str] | None = None) -> dict[str, str]:
    return ctx or {}


VECTORS = [
    # --- OpenAI: cached input is a subset of input; reasoning is inside output --------------
    V("gpt-4o plain", "openai", "gpt-4o-2024-08-06", "2025-03-01T12:00:00Z",
      {"input_tokens": 1200, "output_tokens": 350}, mtok((1200, "2.5"), (350, "10")), g()),
    V("gpt-4o cached", "openai", "gpt-4o-2024-08-06", "2025-03-01T12:00:00Z",
      {"input_tokens": 5000, "cache_read_tokens": 3000, "output_tokens": 500},
      mtok((2000, "2.5"), (3000, "1.25"), (500, "10")), g()),
    V("gpt-4o-mini cached", "openai", "gpt-4o-mini-2024-07-18", "2025-03-01T00:00:00Z",
      {"input_tokens": 10000, "cache_read_tokens": 8192, "output_tokens": 1000},
      mtok((1808, "0.15"), (8192, "0.075"), (1000, "0.6")), g()),
    V("gpt-4.1 cached", "openai", "gpt-4.1-2025-04-14", "2025-05-01T00:00:00Z",
      {"input_tokens": 20000, "cache_read_tokens": 15000, "output_tokens": 2000},
      mtok((5000, "2"), (15000, "0.5"), (2000, "8")), g()),
    V("o3 reasoning at launch price", "openai", "o3-2025-04-16", "2025-05-20T08:00:00Z",
      {"input_tokens": 3000, "output_tokens": 9000, "reasoning_tokens": 8000},
      mtok((3000, "10"), (9000, "40")), g()),
    V("o3 cached at launch price ($2.50 cached)", "openai", "o3-2025-04-16",
      "2025-05-20T08:00:00Z",
      {"input_tokens": 3000, "cache_read_tokens": 2048, "output_tokens": 500,
       "reasoning_tokens": 300},
      mtok((952, "10"), (2048, "2.5"), (500, "40"))),
    V("o3 one second before the 2025-06-10 cut", "openai", "o3", "2025-06-09T23:59:59Z",
      {"input_tokens": 3000, "output_tokens": 500}, mtok((3000, "10"), (500, "40")), g()),
    V("o3 at the instant of the cut", "openai", "o3", "2025-06-10T00:00:00Z",
      {"input_tokens": 3000, "cache_read_tokens": 2048, "output_tokens": 500},
      mtok((952, "2"), (2048, "0.5"), (500, "8")), g()),
    V("gpt-5 reasoning cached", "openai", "gpt-5-2025-08-07", "2025-09-01T00:00:00Z",
      {"input_tokens": 40000, "cache_read_tokens": 32000, "output_tokens": 6000,
       "reasoning_tokens": 5000},
      mtok((8000, "1.25"), (32000, "0.125"), (6000, "10")), g()),
    V("gpt-5 flex (genai-prices row)", "openai", "gpt-5-2025-08-07", "2026-11-01T00:00:00Z",
      {"input_tokens": 40000, "cache_read_tokens": 32000, "output_tokens": 6000},
      mtok((8000, "0.625"), (32000, "0.0625"), (6000, "5")), g({"service_tier": "flex"}),
      tier="flex"),
    V("gpt-5 priority", "openai", "gpt-5-2025-08-07", "2026-11-01T00:00:00Z",
      {"input_tokens": 40000, "cache_read_tokens": 32000, "output_tokens": 6000},
      mtok((8000, "2.5"), (32000, "0.25"), (6000, "20")), g({"service_tier": "priority"}),
      tier="priority"),
    V("gpt-5 flex before genai-prices knew flex (50%)", "openai", "gpt-5", "2025-09-01T00:00:00Z",
      {"input_tokens": 40000, "cache_read_tokens": 32000, "output_tokens": 6000},
      mtok((8000, "0.625"), (32000, "0.0625"), (6000, "5")), tier="flex"),
    V("gpt-4o batch in 2025 (50% of every rate)", "openai", "gpt-4o", "2025-03-01T00:00:00Z",
      {"input_tokens": 5000, "cache_read_tokens": 3000, "output_tokens": 500},
      mtok((2000, "1.25"), (3000, "0.625"), (500, "5")), batch=True),
    V("gpt-4o batch (genai-prices row)", "openai", "gpt-4o", "2026-11-01T00:00:00Z",
      {"input_tokens": 5000, "output_tokens": 500}, mtok((5000, "1.25"), (500, "5")), g(BATCH),
      batch=True),
    V("gpt-4o-audio-preview audio tokens", "openai", "gpt-4o-audio-preview-2024-12-17",
      "2025-03-01T00:00:00Z",
      {"input_tokens": 1500, "input_audio_tokens": 1000, "output_tokens": 800,
       "output_audio_tokens": 600},
      mtok((500, "2.5"), (1000, "40"), (200, "10"), (600, "80"))),
    V("gpt-audio audio tokens", "openai", "gpt-audio-2025-08-28", "2025-10-01T00:00:00Z",
      {"input_tokens": 1500, "input_audio_tokens": 1000, "output_tokens": 800,
       "output_audio_tokens": 600},
      mtok((500, "2.5"), (1000, "32"), (200, "10"), (600, "64")), g()),
    V("gpt-4o web search calls", "openai", "gpt-4o", "2025-05-01T00:00:00Z",
      {"input_tokens": 1000, "output_tokens": 100, "web_search_requests": 2}, genai=g()),
    V("cache writes with no write rate bill as input", "openai", "gpt-4o", "2025-05-01T00:00:00Z",
      {"input_tokens": 3000, "cache_write_tokens": 1000, "cache_read_tokens": 1000,
       "output_tokens": 10},
      mtok((2000, "2.5"), (1000, "1.25"), (10, "10")), g()),
    V("failed call without usage", "openai", "gpt-4o", "2025-05-01T00:00:00Z", {}, Decimal(0),
      g()),
    # --- Anthropic: canonical input includes reads and writes; 1h writes at their own rate --
    V("sonnet 4.5 plain", "anthropic", "claude-sonnet-4-5-20250929", "2025-10-01T00:00:00Z",
      {"input_tokens": 2000, "output_tokens": 400}, mtok((2000, "3"), (400, "15")), g()),
    V("sonnet 4.5 cache read and 5m write", "anthropic", "claude-sonnet-4-5-20250929",
      "2025-10-01T00:00:00Z",
      {"input_tokens": 12000, "cache_read_tokens": 8000, "cache_write_tokens": 3000,
       "output_tokens": 700},
      mtok((1000, "3"), (8000, "0.3"), (3000, "3.75"), (700, "15")), g()),
    V("sonnet 4.5 5m and 1h writes", "anthropic", "claude-sonnet-4-5-20250929",
      "2025-10-01T00:00:00Z",
      {"input_tokens": 12000, "cache_read_tokens": 2000, "cache_write_tokens": 9000,
       "cache_write_1h_tokens": 4000, "output_tokens": 700},
      mtok((1000, "3"), (2000, "0.3"), (5000, "3.75"), (4000, "6"), (700, "15")), g()),
    V("sonnet 4.5 at exactly 200,000 input: base rates", "anthropic", "claude-sonnet-4-5",
      "2025-10-01T00:00:00Z",
      {"input_tokens": 200_000, "cache_read_tokens": 150_000, "cache_write_tokens": 20_000,
       "cache_write_1h_tokens": 5000, "output_tokens": 3000},
      mtok((30000, "3"), (150000, "0.3"), (15000, "3.75"), (5000, "6"), (3000, "15")), g()),
    V("sonnet 4.5 at 200,001 input: every token long-context", "anthropic", "claude-sonnet-4-5",
      "2025-10-01T00:00:00Z",
      {"input_tokens": 200_001, "cache_read_tokens": 150_000, "cache_write_tokens": 20_000,
       "cache_write_1h_tokens": 5000, "output_tokens": 3000},
      mtok((30001, "6"), (150000, "0.6"), (15000, "7.5"), (5000, "12"), (3000, "22.5")), g()),
    V("sonnet 4 at exactly 200,000 input", "anthropic", "claude-sonnet-4-20250514",
      "2025-09-01T00:00:00Z", {"input_tokens": 200_000, "output_tokens": 1000},
      mtok((200000, "3"), (1000, "15")), g()),
    V("sonnet 4 at 200,001 input (override tier)", "anthropic", "claude-sonnet-4-20250514",
      "2025-09-01T00:00:00Z",
      {"input_tokens": 200_001, "cache_read_tokens": 100_000, "output_tokens": 1000},
      mtok((100001, "6"), (100000, "0.6"), (1000, "22.5"))),
    V("claude 3 haiku 5m write is 1.2x, not 1.25x", "anthropic", "claude-3-haiku-20240307",
      "2025-03-01T00:00:00Z",
      {"input_tokens": 5000, "cache_write_tokens": 4000, "output_tokens": 300},
      mtok((1000, "0.25"), (4000, "0.3"), (300, "1.25")), g()),
    V("opus 4.1 thinking and web searches", "anthropic", "claude-opus-4-1-20250805",
      "2025-09-01T00:00:00Z",
      {"input_tokens": 3000, "output_tokens": 2000, "reasoning_tokens": 1500,
       "web_search_requests": 3},
      mtok((3000, "15"), (2000, "75"), searches=(3, "0.01")), g()),
    V("opus 4.5 everything at once", "anthropic", "claude-opus-4-5-20251101",
      "2025-12-01T00:00:00Z",
      {"input_tokens": 9000, "cache_read_tokens": 4000, "cache_write_tokens": 3000,
       "cache_write_1h_tokens": 1000, "output_tokens": 1200, "web_search_requests": 1},
      mtok((2000, "5"), (4000, "0.5"), (2000, "6.25"), (1000, "10"), (1200, "25"),
           searches=(1, "0.01")), g()),
    V("haiku 4.5 batch in 2025 (50% of every rate)", "anthropic", "claude-haiku-4-5-20251001",
      "2025-11-01T00:00:00Z",
      {"input_tokens": 10000, "cache_read_tokens": 6000, "cache_write_tokens": 2000,
       "cache_write_1h_tokens": 1000, "output_tokens": 1000},
      mtok((2000, "0.5"), (6000, "0.05"), (1000, "0.625"), (1000, "1"), (1000, "2.5")),
      batch=True),
    V("haiku 4.5 reported as service_tier batch", "anthropic", "claude-haiku-4-5-20251001",
      "2026-11-01T00:00:00Z",
      {"input_tokens": 10000, "cache_read_tokens": 6000, "cache_write_tokens": 2000,
       "cache_write_1h_tokens": 1000, "output_tokens": 1000},
      mtok((2000, "0.5"), (6000, "0.05"), (1000, "0.625"), (1000, "1"), (1000, "2.5")),
      g(BATCH), tier="batch"),
    V("sonnet 4.5 batch long context in 2025", "anthropic", "claude-sonnet-4-5",
      "2025-10-01T00:00:00Z", {"input_tokens": 250_000, "output_tokens": 1000},
      mtok((250000, "3"), (1000, "11.25")), batch=True),
    V("sonnet 4.5 batch long context (genai-prices row)", "anthropic", "claude-sonnet-4-5",
      "2026-11-01T00:00:00Z", {"input_tokens": 250_000, "output_tokens": 1000},
      mtok((250000, "3"), (1000, "11.25")), g(BATCH), batch=True),
    V("anthropic 'standard' tier is the default row", "anthropic", "claude-sonnet-4-5-20250929",
      "2025-10-01T00:00:00Z", {"input_tokens": 100, "output_tokens": 10},
      mtok((100, "3"), (10, "15")), g(), tier="standard"),
]  # fmt: skip


def _at(v: V) -> datetime:
    return datetime.fromisoformat(v.at.replace("Z", "+00:00"))


def _ours(v: V) -> Decimal:
    quote = BOOK.quote(Usage(**v.usage), provider=v.provider, model=v.model, at=_at(v),
                       service_tier=v.tier, batch=v.batch)  # fmt: skip
    assert quote.status == "priced", v.id
    return quote.cost.total


def _genai(v: V, ctx: dict[str, str]) -> Decimal:
    u = v.usage
    usage = genai_prices.Usage(
        input_tokens=u.get("input_tokens", 0), cache_read_tokens=u.get("cache_read_tokens", 0),
        cache_write_tokens=u.get("cache_write_tokens", 0),
        cache_write_1h_tokens=u.get("cache_write_1h_tokens", 0),
        output_tokens=u.get("output_tokens", 0),
        input_audio_tokens=u.get("input_audio_tokens", 0),
        output_audio_tokens=u.get("output_audio_tokens", 0),
        web_searches=u.get("web_search_requests", 0),
    )  # fmt: skip
    calc = genai_prices.calc_price(
        usage, v.model, provider_id=v.provider, genai_request_timestamp=_at(v),
        price_context=ctx or None,
    )  # fmt: skip
    return calc.total_price


def test_there_are_at_least_25_vectors_across_both_providers() -> None:
    assert len(VECTORS) >= 25
    assert {v.provider for v in VECTORS} == {"openai", "anthropic"}
    assert all(v.hand is not None or v.genai is not None for v in VECTORS)


@pytest.mark.parametrize("v", [v for v in VECTORS if v.hand is not None], ids=lambda v: v.id)
def test_cost_equals_published_rates_times_tokens(v: V) -> None:
    assert _ours(v) - v.hand == 0  # type: ignore[operator]


@pytest.mark.parametrize("v", [v for v in VECTORS if v.genai is not None], ids=lambda v: v.id)
def test_cost_equals_genai_prices_calc_price(v: V) -> None:
    assert v.genai is not None
    assert _ours(v) - _genai(v, v.genai) == 0
