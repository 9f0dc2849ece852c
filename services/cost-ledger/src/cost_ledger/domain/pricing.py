"""Exact cost of one call: canonical usage x catalog rates, Decimal only, never rounded."""

from dataclasses import dataclass, fields, replace
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow

from rex_shared.events import CostComponents, Usage

_PER_MTOK = Decimal(1_000_000)

RATE_FIELDS = (
    "input", "cache_read", "cache_write_5m", "cache_write_1h", "output",
    "input_audio", "output_audio", "per_web_search",
    "lc_input", "lc_cache_read", "lc_cache_write_5m", "lc_cache_write_1h", "lc_output",
)  # fmt: skip


@dataclass(frozen=True)
class Rates:
    """One catalog row's rates in $ per million tokens (web search: $ per request).

    None means "not priced separately": those tokens fall back to their parent's rate, the way
    genai-prices treats a unit without a price (cache writes bill as input, and so on).
    """

    input: Decimal | None = None
    cache_read: Decimal | None = None
    cache_write_5m: Decimal | None = None
    cache_write_1h: Decimal | None = None
    output: Decimal | None = None
    input_audio: Decimal | None = None
    output_audio: Decimal | None = None
    per_web_search: Decimal | None = None
    long_context_threshold: int | None = None
    lc_input: Decimal | None = None
    lc_cache_read: Decimal | None = None
    lc_cache_write_5m: Decimal | None = None
    lc_cache_write_1h: Decimal | None = None
    lc_output: Decimal | None = None

    def scaled(self, factor: Decimal) -> "Rates":
        """Every rate times `factor` (batch and flex are 50% of every rate, cache included)."""
        changes = {
            name: value * factor
            for name in RATE_FIELDS
            if (value := getattr(self, name)) is not None
        }
        return replace(self, **changes)

    def patched(self, patch: "Rates", *, overwrite: bool = False) -> "Rates":
        """These rates with `patch`'s values: only into gaps (None), or over everything."""
        changes = {
            f.name: getattr(patch, f.name)
            for f in fields(self)
            if getattr(patch, f.name) is not None and (overwrite or getattr(self, f.name) is None)
        }
        return replace(self, **changes)

    def long_context(self, input_tokens: int) -> "Rates":
        """The rates for a call with `input_tokens` of input (all of it, cache included)."""
        threshold = self.long_context_threshold
        if threshold is None or input_tokens <= threshold:  # strictly greater switches tiers
            return self
        return replace(
            self,
            input=_first(self.lc_input, self.input),
            cache_read=_first(self.lc_cache_read, self.cache_read),
            cache_write_5m=_first(self.lc_cache_write_5m, self.cache_write_5m),
            cache_write_1h=_first(self.lc_cache_write_1h, self.cache_write_1h),
            output=_first(self.lc_output, self.output),
        )


def _first(*values: Decimal | None) -> Decimal | None:
    return next((v for v in values if v is not None), None)


# Money must never be rounded on the way: Inexact is trapped, so a lost digit is an error.
# Explicit context methods (not a localcontext per call): this runs for every ingested call.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
_ZERO = Decimal(0)


def _cost(tokens: int, rate_per_mtok: Decimal | None) -> Decimal:
    if not tokens or rate_per_mtok is None:
        return _ZERO
    return _EXACT.divide(_EXACT.multiply(Decimal(tokens), rate_per_mtok), _PER_MTOK)


def price(usage: Usage, rates: Rates, *, provider: str) -> CostComponents:
    """Cost of `usage` at `rates`, per component, exactly (PRICING.md formulas).

    Canonical usage is inclusive for every provider (input holds cache reads, writes and audio;
    output holds reasoning and audio), so OpenAI and Anthropic share one formula; `provider` is
    kept in the signature for provider rules that the canonical shape cannot absorb.
    """
    del provider  # no provider-specific rule today; see the docstring
    r = rates.long_context(usage.input_tokens)
    # Each part is billed at its own rate when the row has one, else inside its parent.
    write_1h = usage.cache_write_1h_tokens if r.cache_write_1h is not None else 0
    writes = usage.cache_write_tokens if r.cache_write_5m is not None else write_1h
    reads = usage.cache_read_tokens if r.cache_read is not None else 0
    audio_in = usage.input_audio_tokens if r.input_audio is not None else 0
    audio_out = usage.output_audio_tokens if r.output_audio is not None else 0
    add = _EXACT.add
    parts = {
        "input": _cost(usage.input_tokens - reads - writes - audio_in, r.input),
        "cache_read": _cost(reads, r.cache_read),
        "cache_write": add(_cost(writes - write_1h, r.cache_write_5m),
                           _cost(write_1h, r.cache_write_1h)),
        "output": _cost(usage.output_tokens - audio_out, r.output),
        "input_audio": _cost(audio_in, r.input_audio),
        "output_audio": _cost(audio_out, r.output_audio),
        "web_search": _EXACT.multiply(Decimal(usage.web_search_requests),
                                      r.per_web_search or _ZERO),
    }  # fmt: skip
    total = _ZERO
    for value in parts.values():
        total = add(total, value)
    # Every part is an exact Decimal computed above: nothing for validation to check.
    return CostComponents.model_construct(None, **parts, total=total)


UNPRICED = CostComponents()
"""The cost of a call no catalog row prices: zero everywhere, status `unpriced`."""
