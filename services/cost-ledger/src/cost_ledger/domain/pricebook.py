"""The price catalog in memory: which row prices a call, at the instant it happened."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rex_shared.events import CostComponents, Usage

from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricing import UNPRICED, Rates, price

Source = Literal["genai-prices", "override", "admin"]
PriceStatus = Literal["priced", "unpriced"]
DEFAULT_TIER = "default"
# What providers report that means "no special tier": the request-side `auto`, Anthropic's
# `standard`, or nothing at all.
_PLAIN_TIERS = frozenset({"", "auto", "default", "standard", "standard_only"})


@dataclass(frozen=True)
class CatalogRow:
    """One versioned price: rates for (provider, model family, tier, batch) over a period."""

    id: str
    provider: str
    model_id: str
    model_name: str | None
    service_tier: str
    batch: bool
    effective_from: datetime
    effective_to: datetime | None
    rates: Rates
    source: Source
    org_id: str | None = None

    def in_force(self, at: datetime) -> bool:
        """True when `at` lies in [effective_from, effective_to)."""
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)


@dataclass(frozen=True)
class Quote:
    """How a usage was priced: the model family, the row used and the cost."""

    model_id: str | None
    row: CatalogRow | None
    cost: CostComponents

    @property
    def status(self) -> PriceStatus:
        return "priced" if self.row is not None else "unpriced"


def normalize_tier(service_tier: str | None, batch: bool) -> tuple[str, bool]:
    """The catalog (tier, batch) a reported service tier means."""
    tier = (service_tier or "").strip().lower()
    if tier == "batch":  # Anthropic reports batch results as a tier
        return DEFAULT_TIER, True
    return (DEFAULT_TIER if tier in _PLAIN_TIERS else tier), batch


_Key = tuple[str, str, str, bool, str | None]


@dataclass(frozen=True)
class Plan:
    """How one kind of call (provider, model, tier, batch, org) is priced: its model family,
    catalog tier and the rows to try in order; only the instant and the usage remain."""

    model_id: str | None
    tier: str
    batch: bool
    candidates: tuple[tuple[CatalogRow, ...], ...]

    def row(self, at: datetime) -> CatalogRow | None:
        """The row in force at `at` (see `PriceBook.row_for`)."""
        return _in_force(self.candidates, at)

    def quote(self, usage: Usage, at: datetime) -> Quote:
        if self.model_id is None:
            return Quote(None, None, UNPRICED)
        row = self.row(at)
        if row is None:
            return Quote(self.model_id, None, UNPRICED)
        return Quote(self.model_id, row, price(usage, row.rates, provider=row.provider))


class PriceBook:
    """All catalog rows indexed for lookup; immutable, swapped whole on reload."""

    def __init__(self, rows: Iterable[CatalogRow], resolver: ModelResolver) -> None:
        index: dict[_Key, list[CatalogRow]] = defaultdict(list)
        for row in rows:
            key = (row.provider, row.model_id, row.service_tier, row.batch, row.org_id)
            index[key].append(row)
        self._index = {k: sorted(v, key=lambda r: r.effective_from) for k, v in index.items()}
        self._models = {(k[0], k[1]) for k in self._index}
        self._resolver = resolver
        self._memo: dict[_Key, tuple[tuple[CatalogRow, ...], ...]] = {}
        self._plans: dict[tuple[str, str, str | None, bool, str | None], Plan] = {}
        self.size = sum(len(v) for v in self._index.values())

    def model_id(self, provider: str, model: str) -> tuple[str, str] | None:
        """(provider, family id) of a model name as returned, or None when nobody knows it."""
        found = self._resolver.resolve(provider, model)
        if found is not None and found in self._models:
            return found
        exact = (provider.lower(), model.lower())  # a row added for a model genai-prices lacks
        return exact if exact in self._models else found

    def row_for(
        self,
        provider: str,
        model_id: str,
        *,
        at: datetime,
        tier: str,
        batch: bool,
        org_id: str | None = None,
    ) -> CatalogRow | None:
        """The row in force at `at`: the org's own price first, then the public one.

        A tier or batch row the catalog lacks falls back to the default tier, then to the
        standard row; the row id recorded with the cost shows which one was used.
        """
        return _in_force(self._candidates(provider, model_id, tier, batch, org_id), at)

    def _candidates(
        self, provider: str, model_id: str, tier: str, batch: bool, org_id: str | None
    ) -> tuple[tuple[CatalogRow, ...], ...]:
        """Row lists to try in order (newest first in each), memoized: this runs per call."""
        key = (provider, model_id, tier, batch, org_id)
        found = self._memo.get(key)
        if found is None:
            wanted = [(tier, batch), (DEFAULT_TIER, batch), (DEFAULT_TIER, False)]
            found = tuple(
                tuple(reversed(self._index[k]))
                for want_tier, want_batch in dict.fromkeys(wanted)
                for org in dict.fromkeys((org_id, None))
                if (k := (provider, model_id, want_tier, want_batch, org)) in self._index
            )
            if len(self._memo) > 50_000:  # org ids come from events: keep the memo bounded
                self._memo.clear()
            self._memo[key] = found
        return found

    def quote(
        self,
        usage: Usage,
        *,
        provider: str,
        model: str,
        at: datetime,
        service_tier: str | None = None,
        batch: bool = False,
        org_id: str | None = None,
    ) -> Quote:
        """Price `usage` of `model` at the rates in force at `at`; unknown models cost zero."""
        return self.plan(provider, model, service_tier, batch, org_id).quote(usage, at)

    def plan(
        self, provider: str, model: str, service_tier: str | None, batch: bool, org_id: str | None
    ) -> "Plan":
        """Everything about pricing a call that does not depend on its usage or time, memoized
        by the call's own fields: resolving the model and the tier runs once per kind of call,
        not once per call."""
        key = (provider, model, service_tier, batch, org_id)
        found = self._plans.get(key)
        if found is None:
            tier, plain_batch = normalize_tier(service_tier, batch)
            model_id = self.model_id(provider, model)
            candidates = self._candidates(*model_id, tier, plain_batch, org_id) if model_id else ()
            found = Plan(model_id[1] if model_id else None, tier, plain_batch, candidates)
            if len(self._plans) > 50_000:  # names come from events: keep the memo bounded
                self._plans.clear()
            self._plans[key] = found
        return found

    def rows(
        self,
        *,
        at: datetime | None,
        provider: str | None = None,
        model_id: str | None = None,
        org_id: str | None = None,
    ) -> list[CatalogRow]:
        """Rows matching the filters (in force at `at` when given), public and the org's own."""
        found = [
            row
            for (prov, model, _, _, org), rows in self._index.items()
            if (provider is None or prov == provider)
            and (model_id is None or model == model_id)
            and org in (None, org_id)
            for row in rows
            if at is None or row.in_force(at)
        ]
        return sorted(found, key=lambda r: r.id)


def _in_force(candidates: Iterable[Iterable[CatalogRow]], at: datetime) -> CatalogRow | None:
    """The first row in force at `at`, trying each group of candidates in order. Within a
    group, a price added "from a date" supersedes older rows from then on: the row in force
    that started last wins (seeded rows never overlap)."""
    for rows in candidates:
        for row in rows:
            if row.in_force(at):
                return row
    return None
