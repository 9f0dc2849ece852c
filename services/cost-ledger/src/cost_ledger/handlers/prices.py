"""The price catalog: the current price book, listing prices and adding an admin's price."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rex_shared.errors import Conflict, Forbidden, Invalid

from cost_ledger.domain.admin_prices import (
    NewPrice,
    Unusual,
    catalog_row,
    rates_from,
    unusual_rates,
)
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import CatalogRow, PriceBook, normalize_tier
from cost_ledger.ports import Catalog


class PriceBooks:
    """The price book in force, swapped whole when the catalog is read again."""

    def __init__(self, catalog: Catalog, resolver: ModelResolver | None = None) -> None:
        self._catalog, self._resolver = catalog, resolver or ModelResolver()
        self._book = PriceBook((), self._resolver)

    def book(self) -> PriceBook:
        return self._book

    async def reload(self) -> None:
        """Swap in a fresh price book from the catalog table."""
        self._book = PriceBook(await self._catalog.rows(), self._resolver)


@dataclass(frozen=True)
class PricePage:
    """One page of catalog rows of a model family (None: every family)."""

    model_id: str | None
    rows: list[CatalogRow]
    next_cursor: str | None


def price_page(
    book: PriceBook, *, org_id: str, provider: str | None, model: str | None, at: datetime,
    limit: int, cursor: str | None,
) -> PricePage:  # fmt: skip
    """The org's and the public rows in force at `at`, by id, after the cursor."""
    model_id = None
    if model is not None:
        if provider is None:
            raise Invalid("VALIDATION_ERROR", "provider is required with model")
        found = book.model_id(provider, model)
        if found is None:
            return PricePage(None, [], None)
        provider, model_id = found
    rows = book.rows(at=at, provider=provider and provider.lower(), model_id=model_id,
                     org_id=org_id)  # fmt: skip
    page = [r for r in rows if cursor is None or r.id > cursor][:limit]
    more = len(page) == limit and page[-1].id != rows[-1].id
    return PricePage(model_id, page, page[-1].id if more else None)


@dataclass(frozen=True)
class PriceAdded:
    """The row added, the row it was compared with, and the rates far off that one."""

    row: CatalogRow
    reference_id: str | None
    unusual: list[str]


def _unusual(new: NewPrice, book: PriceBook, confirmed: bool) -> tuple[str | None, list[Unusual]]:
    reference = book.row_for(new.provider, new.model_id, at=new.effective_from,
                             tier=new.service_tier, batch=new.batch, org_id=new.org_id)  # fmt: skip
    odd = unusual_rates(new.rates, reference.rates) if reference else []
    if odd and not confirmed:
        raise Invalid("UNUSUAL_PRICE", "a rate is more than 100x off the reference;"
                      " resend with confirm_unusual=true if it is right",
                      {"reference_price_id": reference.id if reference else None,
                       "rates": [{"rate": u.rate, "given": str(u.given),
                                  "reference": str(u.reference)} for u in odd]})  # fmt: skip
    return (reference.id if reference else None), odd


@dataclass(frozen=True)
class PriceAsk:
    """What an admin asked to add: rates by name (None: not charged) from a UTC time."""

    provider: str
    model: str
    service_tier: str
    batch: bool
    effective_from: datetime
    rates: dict[str, Any]
    public: bool
    confirm_unusual: bool
    note: str | None


def _new_price(ask: PriceAsk, book: PriceBook, *, org_id: str | None) -> NewPrice:
    tier, batch = normalize_tier(ask.service_tier, ask.batch)
    rates = rates_from(ask.rates)
    if rates.input is None and rates.output is None:
        raise Invalid("VALIDATION_ERROR", "a price needs at least an input or output rate")
    known = book.model_id(ask.provider, ask.model)
    provider, model_id = known or (ask.provider.lower(), ask.model.lower())
    return NewPrice(
        provider=provider, model_id=model_id, model_name=ask.model, service_tier=tier,
        batch=batch, effective_from=ask.effective_from, rates=rates, org_id=org_id,
    )  # fmt: skip


async def add_price(
    ask: PriceAsk, *, org_id: str, created_by: str, catalog_admin: bool, catalog: Catalog,
    prices: PriceBooks,
) -> PriceAdded:  # fmt: skip
    """Add a price from a date (public: catalog administrators only), then reload the book."""
    if ask.public and not catalog_admin:
        raise Forbidden("FORBIDDEN", "only catalog administrators add public prices")
    new = _new_price(ask, prices.book(), org_id=None if ask.public else org_id)
    reference_id, odd = _unusual(new, prices.book(), ask.confirm_unusual)
    row = catalog_row(new)
    if not await catalog.add(row, org_id=org_id, created_by=created_by, note=ask.note):
        raise Conflict("PRICE_EXISTS", f"a price {row.id} already exists")
    await prices.reload()
    return PriceAdded(row, reference_id, [u.rate for u in odd])
