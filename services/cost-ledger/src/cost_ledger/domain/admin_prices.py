"""Prices an admin adds from a date: the new catalog row, and the 100x sanity guard."""

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from cost_ledger.domain.pricebook import DEFAULT_TIER, CatalogRow
from cost_ledger.domain.pricing import RATE_FIELDS, Rates

UNUSUAL_FACTOR = Decimal(100)


@dataclass(frozen=True)
class NewPrice:
    """What an admin asked for, with the model already resolved to its catalog family."""

    provider: str
    model_id: str
    model_name: str
    service_tier: str
    batch: bool
    effective_from: datetime
    rates: Rates
    org_id: str | None  # None: a public price (catalog administrators only)


def row_id(p: NewPrice) -> str:
    """Deterministic: the same key and start date is the same row (a retry conflicts)."""
    owner = p.org_id or "public"
    tier = f":{p.service_tier}" if p.service_tier != DEFAULT_TIER else ""
    return (f"admin:{owner}:{p.provider}:{p.model_id}:{p.effective_from.isoformat()}{tier}"
            f"{':batch' if p.batch else ''}")  # fmt: skip


def catalog_row(p: NewPrice) -> CatalogRow:
    """The catalog row of a new price: in force from its date until a later one supersedes it."""
    return CatalogRow(
        id=row_id(p), provider=p.provider, model_id=p.model_id, model_name=p.model_name,
        service_tier=p.service_tier, batch=p.batch, effective_from=p.effective_from,
        effective_to=None, rates=p.rates, source="admin", org_id=p.org_id,
    )  # fmt: skip


@dataclass(frozen=True)
class Unusual:
    """A rate more than 100x away from the reference rate for the same component."""

    rate: str
    given: Decimal
    reference: Decimal


def unusual_rates(new: Rates, reference: Rates) -> list[Unusual]:
    """Rates that differ from the reference by more than 100x either way (per-token typed as
    per-million, or the reverse). A zero against a non-zero reference counts as unusual."""
    found = []
    for name in RATE_FIELDS:
        given, ref = getattr(new, name), getattr(reference, name)
        if given is None or ref is None or ref == 0:
            continue
        if given == 0 or given > ref * UNUSUAL_FACTOR or given * UNUSUAL_FACTOR < ref:
            found.append(Unusual(name, given, ref))
    return found


def rates_from(values: dict[str, Decimal | int | None]) -> Rates:
    """Rates from a request's mapping (unknown names were refused by the request model)."""
    known = {f.name for f in fields(Rates)}
    return Rates(**{k: v for k, v in values.items() if k in known and v is not None})  # type: ignore[arg-type]
