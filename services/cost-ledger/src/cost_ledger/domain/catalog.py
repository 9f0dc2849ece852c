"""Seed rows for the price catalog, walked from genai-prices' bundled data plus our overrides."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal

from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import (
    ConditionalPrice,
    ModelInfo,
    ModelPrice,
    PriceVariant,
    Provider,
    StartDateConstraint,
    TieredPrices,
    TimeOfDateConstraint,
)

from cost_ledger.domain.overrides import patched
from cost_ledger.domain.pricebook import DEFAULT_TIER, CatalogRow, Source
from cost_ledger.domain.pricing import Rates

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HALF = Decimal("0.5")
# Both document their Batch API as 50% off every rate, cache included (PRICING.md), so a batch
# row can be derived where genai-prices has none (it only knows batch rows from late 2026).
BATCH_AT_HALF = frozenset({"openai", "anthropic"})
# OpenAI bills flex processing at batch rates.
FLEX_AT_HALF = frozenset({"openai"})

# $/MTok with at most 12 decimals costs at most 18 decimals per token: what NUMERIC(38,18) keeps.
MAX_RATE_DECIMALS = 12

# genai-prices price key -> (our base rate field, our long-context rate field)
_TOKEN_KEYS: Mapping[str, tuple[str, str | None]] = {
    "input_mtok": ("input", "lc_input"),
    "cache_read_mtok": ("cache_read", "lc_cache_read"),
    "cache_write_mtok": ("cache_write_5m", "lc_cache_write_5m"),
    "cache_write_1h_mtok": ("cache_write_1h", "lc_cache_write_1h"),
    "output_mtok": ("output", "lc_output"),
    "input_audio_mtok": ("input_audio", None),
    "output_audio_mtok": ("output_audio", None),
}


@dataclass(frozen=True)
class _Series:
    """One (tier, batch) price history of a model: its variant selector and when each starts."""

    tier: str
    batch: bool
    when: dict[str, str] | None
    starts: tuple[datetime, ...]


def seed_rows(providers: list[Provider] | None = None) -> list[CatalogRow]:
    """Every catalog row genai-prices (and the overrides) can give, with deterministic ids."""
    found = providers if providers is not None else get_snapshot().providers
    return [row for p in found for m in p.models for row in model_rows(p.id, m)]


def model_rows(provider: str, model: ModelInfo) -> list[CatalogRow]:
    """A model's rows: the standard history, then each tier/batch history."""
    model = _without_time_of_day(model)
    rows: list[CatalogRow] = []
    for series in _series_of(provider, model):
        rows.extend(_rows_of(provider, model, series))
    return rows


def _without_time_of_day(model: ModelInfo) -> ModelInfo:
    # Off-peak hours (DeepSeek) cannot be a [from, to) row; such prices are left out.
    if isinstance(model.prices, ModelPrice):
        return model
    kept = [c for c in model.prices if not isinstance(c.constraint, TimeOfDateConstraint)]
    return replace(model, prices=kept or model.prices[:1])


def _day(value: date) -> datetime:
    return datetime.combine(value, time(0), tzinfo=UTC)  # genai-prices compares UTC dates


def _standard_starts(model: ModelInfo) -> list[datetime]:
    if isinstance(model.prices, ModelPrice):
        return [EPOCH]
    # Before the first dated price genai-prices uses the first entry: it holds since always.
    later = [_start(c) for c in model.prices[1:]]
    return [EPOCH, *(d for d in later if d is not None)]


def _start(item: ConditionalPrice | PriceVariant) -> datetime | None:
    constraint = item.constraint
    return _day(constraint.start_date) if isinstance(constraint, StartDateConstraint) else None


def _selector(when: dict[str, str]) -> tuple[str, bool] | None:
    if when == {"processing": "batch"}:
        return DEFAULT_TIER, True
    if set(when) == {"service_tier"}:
        return when["service_tier"], False
    if when == {"speed": "fast"}:
        return "fast", False
    return None  # routes, search types: not a rate row we key by


def _series_of(provider: str, model: ModelInfo) -> Iterator[_Series]:
    standard = tuple(_standard_starts(model))
    yield _Series(DEFAULT_TIER, False, None, standard)
    groups: dict[tuple[str, bool], tuple[dict[str, str], set[datetime]]] = {}
    for variant in model.price_variants or ():
        key = _selector(variant.when)
        if key is None or key == (DEFAULT_TIER, False):
            continue
        when, starts = groups.setdefault(key, (variant.when, set()))
        starts.add(_start(variant) or EPOCH)
    if provider in BATCH_AT_HALF:
        groups.setdefault((DEFAULT_TIER, True), ({"processing": "batch"}, set()))
    for (tier, batch), (when, starts) in groups.items():
        yield _Series(tier, batch, when, tuple(sorted(set(standard) | starts)))


def _rows_of(provider: str, model: ModelInfo, series: _Series) -> Iterator[CatalogRow]:
    ends = (*series.starts[1:], None)
    for start, end in zip(series.starts, ends, strict=True):
        priced = _rates_at(provider, model, series, start)
        if priced is None:
            continue  # a gap: lookups fall back to the standard row
        rates, source = priced
        yield CatalogRow(
            id=_row_id(source, provider, model.id, start, series),
            provider=provider, model_id=model.id, model_name=model.name,
            service_tier=series.tier, batch=series.batch, effective_from=start,
            effective_to=end, rates=rates, source=source,
        )  # fmt: skip


def _rates_at(
    provider: str, model: ModelInfo, series: _Series, at: datetime
) -> tuple[Rates, Source] | None:
    standard = _standard_rates(provider, model, at)
    if series.when is None:
        return standard
    if _variant_active(model, series.when, at):
        rates = to_rates(model.get_prices(at, series.when))
        return (rates, "genai-prices") if rates is not None else None
    if standard is not None and _derivable(provider, series):
        return standard[0].scaled(HALF), "override"
    return None


def _standard_rates(provider: str, model: ModelInfo, at: datetime) -> tuple[Rates, Source] | None:
    rates = to_rates(model.get_prices(at))
    if rates is None:
        return None
    ours = patched(provider, model.id, at, rates)
    return (rates, "genai-prices") if ours == rates else (ours, "override")


def _variant_active(model: ModelInfo, when: dict[str, str], at: datetime) -> bool:
    return any(
        v.when == when and (v.constraint is None or v.constraint.active(at))
        for v in model.price_variants or ()
    )


def _derivable(provider: str, series: _Series) -> bool:
    if series.batch:
        return provider in BATCH_AT_HALF
    return series.tier == "flex" and provider in FLEX_AT_HALF


def _row_id(source: Source, provider: str, model_id: str, start: datetime, s: _Series) -> str:
    prefix = "genai" if source == "genai-prices" else "override"
    day = "initial" if start == EPOCH else start.date().isoformat()
    suffix = (f":{s.tier}" if s.tier != DEFAULT_TIER else "") + (":batch" if s.batch else "")
    return f"{prefix}:{provider}:{model_id}:{day}{suffix}"


def to_rates(prices: ModelPrice) -> Rates | None:
    """Our rates from a genai-prices price set; None when it prices no tokens we can represent."""
    values: dict[str, Decimal] = {}
    thresholds: set[int] = set()
    for key, (base, long_context) in _TOKEN_KEYS.items():
        value = getattr(prices, key, None)
        if isinstance(value, TieredPrices):
            if len(value.tiers) != 1 or long_context is None:
                return None  # a row holds one cliff tier; more would be priced wrong
            values[base], values[long_context] = value.base, value.tiers[0].price
            thresholds.add(value.tiers[0].start)
        elif value is not None:
            values[base] = value
    if len(thresholds) > 1 or not {"input", "output"} & values.keys():
        return None
    if any(v.scaleb(MAX_RATE_DECIMALS) % 1 for v in values.values()):
        return None  # float residue upstream (0.18000000000000002): unpriced beats rounded
    searches = getattr(prices, "web_searches_kcount", None)
    if isinstance(searches, Decimal):
        values["per_web_search"] = searches / 1000  # genai-prices quotes $ per 1000 searches
    threshold = thresholds.pop() if thresholds else None
    return Rates(**values, long_context_threshold=threshold)  # type: ignore[arg-type]
