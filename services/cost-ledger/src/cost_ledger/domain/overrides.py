"""Project-owned prices for what genai-prices lacks or gets wrong (PRICING.md "Data source").

A fill patch only fills rates genai-prices leaves empty, so when upstream adds the data it wins;
a correction overwrites. Unit tests fail when a patch stops being needed. Derived rows (batch and
flex at 50%) are built in catalog.py.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal as D

from cost_ledger.domain.pricing import Rates


@dataclass(frozen=True)
class RatePatch:
    """Rates for the standard rows of one model family, with where they come from."""

    provider: str
    model_id: str
    rates: Rates
    reference: str
    overwrite: bool = False  # a correction of genai-prices, not a gap filled
    before: datetime | None = None  # only rows that start before this instant

    def applies(self, provider: str, model_id: str, start: datetime) -> bool:
        """True for the standard row of this model that starts at `start`."""
        early = self.before is None or start < self.before
        return (self.provider, self.model_id) == (provider, model_id) and early


PATCHES: tuple[RatePatch, ...] = (
    # Sonnet 4 with the 1M-context beta: a prompt over 200k tokens bills every token at these
    # rates (the same as Sonnet 4.5, which genai-prices already carries as a tier).
    RatePatch(
        "anthropic",
        "claude-sonnet-4-0",
        Rates(
            long_context_threshold=200_000,
            lc_input=D("6"),
            lc_cache_read=D("0.6"),
            lc_cache_write_5m=D("7.5"),
            lc_cache_write_1h=D("12"),
            lc_output=D("22.5"),
        ),
        "https://docs.anthropic.com/en/docs/about-claude/pricing#long-context-pricing",
    ),
    # Audio tokens of the audio-preview chat models (text tokens are already in genai-prices).
    RatePatch(
        "openai",
        "gpt-4o-audio-preview",
        Rates(input_audio=D("40"), output_audio=D("80")),
        "https://platform.openai.com/docs/pricing (gpt-4o-audio-preview, audio tokens)",
    ),
    RatePatch(
        "openai",
        "gpt-4o-mini-audio-preview",
        Rates(input_audio=D("10"), output_audio=D("20")),
        "https://platform.openai.com/docs/pricing (gpt-4o-mini-audio-preview, audio tokens)",
    ),
    # o3 launched at $10 / $2.50 cached / $40; genai-prices carries the post-2025-06-10 cached
    # rate ($0.50) back into the launch period.
    RatePatch(
        "openai",
        "o3",
        Rates(cache_read=D("2.5")),
        "https://openai.com/index/introducing-o3-and-o4-mini/ (launch pricing, 2025-04-16)",
        overwrite=True,
        before=datetime(2025, 6, 10, tzinfo=UTC),
    ),
)


def patched(provider: str, model_id: str, start: datetime, rates: Rates) -> Rates:
    """`rates` of the standard row starting at `start`, with every applicable patch applied."""
    for patch in PATCHES:
        if patch.applies(provider, model_id, start):
            rates = rates.patched(patch.rates, overwrite=patch.overwrite)
    return rates
