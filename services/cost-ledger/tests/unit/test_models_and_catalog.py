"""Model names resolve to their family; the seeded catalog is complete, consistent and exact."""

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

import pytest
from cost_ledger.domain.catalog import EPOCH, HALF, seed_rows, to_rates
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.overrides import PATCHES, RatePatch
from cost_ledger.domain.pricebook import CatalogRow, PriceBook, normalize_tier
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import ModelPrice, Tier, TieredPrices
from rex_shared.events import Usage

ROWS = seed_rows()
RESOLVER = ModelResolver()
BOOK = PriceBook(ROWS, RESOLVER)


@pytest.mark.parametrize(
    ("provider", "name", "family"),
    [
        ("openai", "gpt-4o-2024-08-06", "gpt-4o"),
        ("openai", "gpt-4o", "gpt-4o"),
        ("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai", "o3-2025-04-16", "o3"),
        ("openai", "gpt-5-2025-08-07", "gpt-5"),
        ("OpenAI", "GPT-4o-2024-08-06", "gpt-4o"),
        ("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4-0"),
        ("anthropic", "claude-3-haiku-20240307", "claude-3-haiku"),
        ("anthropic", "claude-opus-4-1-20250805", "claude-opus-4-1"),
    ],
)
def test_a_model_name_as_returned_resolves_to_its_family(
    provider: str, name: str, family: str
) -> None:
    assert RESOLVER.resolve(provider, name) == (provider.lower(), family)
    assert BOOK.model_id(provider, name) == (provider.lower(), family)


@pytest.mark.parametrize(
    ("provider", "name"), [("openai", "no-such-model-7"), ("nobody", "gpt-4o"), ("openai", "")]
)
def test_an_unknown_model_or_provider_resolves_to_nothing(provider: str, name: str) -> None:
    assert RESOLVER.resolve(provider, name) is None


def test_an_unknown_model_is_unpriced_with_zero_cost_and_no_row() -> None:
    quote = BOOK.quote(Usage(input_tokens=10, output_tokens=5), provider="openai",
                       model="no-such-model-7", at=datetime.now(UTC))  # fmt: skip
    assert quote.status == "unpriced"
    assert quote.row is None and quote.model_id is None and quote.cost.total == 0


def test_the_row_used_is_the_one_in_force_at_the_call_time() -> None:
    def row_id(at: str) -> str | None:
        q = BOOK.quote(Usage(), provider="openai", model="o3", at=datetime.fromisoformat(at))
        return q.row.id if q.row else None

    assert row_id("2025-06-09T23:59:59.999999+00:00") == "override:openai:o3:initial"
    assert row_id("2025-06-10T00:00:00+00:00") == "genai:openai:o3:2025-06-10"


@pytest.mark.parametrize(
    ("reported", "batch", "expected"),
    [(None, False, ("default", False)), ("auto", False, ("default", False)),
     ("standard", False, ("default", False)), ("batch", False, ("default", True)),
     ("Priority", False, ("priority", False)), ("flex", True, ("flex", True))],
)  # fmt: skip
def test_reported_service_tiers_map_to_catalog_tiers(
    reported: str | None, batch: bool, expected: tuple[str, bool]
) -> None:
    assert normalize_tier(reported, batch) == expected


def test_seed_ids_are_unique_and_deterministic() -> None:
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids))
    assert [r.id for r in seed_rows()] == ids


def test_each_price_history_is_contiguous_without_overlap() -> None:
    series: dict[tuple[str, str, str, bool], list[CatalogRow]] = defaultdict(list)
    for row in ROWS:
        series[(row.provider, row.model_id, row.service_tier, row.batch)].append(row)
    for rows in series.values():
        rows.sort(key=lambda r: r.effective_from)
        for earlier, later in pairwise(rows):
            assert earlier.effective_to is not None
            assert earlier.effective_to <= later.effective_from


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_every_token_priced_model_of_openai_and_anthropic_has_a_standard_row(
    provider: str,
) -> None:
    (source,) = [p for p in get_snapshot().providers if p.id == provider]
    priced = {m.id for m in source.models if to_rates(m.get_prices(EPOCH)) is not None}
    standard = {r.model_id for r in ROWS if r.provider == provider and not r.batch
                and r.service_tier == "default"}  # fmt: skip
    assert priced and priced <= standard


def test_derived_batch_rows_are_half_of_every_standard_rate() -> None:
    derived = [r for r in ROWS if r.batch and r.source == "override"]
    assert derived
    for row in derived:
        standard = BOOK.row_for(row.provider, row.model_id, at=row.effective_from,
                                tier="default", batch=False)  # fmt: skip
        assert standard is not None
        assert row.rates == standard.rates.scaled(HALF)


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: f"{p.provider}/{p.model_id}")
def test_each_override_is_still_needed(patch: RatePatch) -> None:
    (provider,) = [p for p in get_snapshot().providers if p.id == patch.provider]
    (model,) = [m for m in provider.models if m.id == patch.model_id]
    upstream = to_rates(model.get_prices(EPOCH))  # every patch covers the first period
    assert upstream is not None
    for name, ours in vars(patch.rates).items():
        if ours is None:
            continue
        theirs = getattr(upstream, name)
        # A fill must cover a real gap; a correction must still differ from upstream.
        assert (theirs != ours) if patch.overwrite else (theirs is None), name


def test_a_price_with_more_than_one_tier_is_not_turned_into_a_wrong_row() -> None:
    two_tiers = TieredPrices(base=Decimal(1), tiers=[Tier(100, Decimal(2)), Tier(200, Decimal(3))])
    assert to_rates(ModelPrice(input_mtok=two_tiers, output_mtok=Decimal(1))) is None


def test_web_search_prices_per_thousand_become_per_request() -> None:
    rates = to_rates(ModelPrice(input_mtok=Decimal(1), web_searches_kcount=Decimal(10)))
    assert rates is not None and rates.per_web_search == Decimal("0.01")


def test_a_rate_finer_than_the_ledger_stores_is_left_unpriced_not_rounded() -> None:
    residue = ModelPrice(input_mtok=Decimal("0.18000000000000002"), output_mtok=Decimal(1))
    assert to_rates(residue) is None
    assert all(
        -getattr(r.rates, name).as_tuple().exponent <= 12
        for r in ROWS
        for name in ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output")
        if getattr(r.rates, name) is not None
    )
