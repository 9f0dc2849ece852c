"""The Protocols the handlers depend on; adapters/ implements them, tests pass fakes."""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from cost_ledger.domain.ledger import LedgerEntry
from cost_ledger.domain.pricebook import CatalogRow
from cost_ledger.domain.reports import CallFilter, Cursor, Window
from cost_ledger.domain.repricing import Adjustment, Recorded, Scope


class Contended(Exception):
    """Another transaction held the same rows (a deadlock or serialization failure)."""


class LedgerTx(Protocol):
    """What one ledger transaction can do (adapters/ledger_repo.py implements it)."""

    async def record_charges(self, entries: Sequence[LedgerEntry], at: datetime) -> list[Any]:
        """Insert new calls with their aggregates and cost events; duplicates add nothing."""
        ...

    async def record_adjustments(
        self, adjustments: Sequence[Adjustment], at: datetime
    ) -> list[Any]: ...

    async def lock_org(self, org_id: str) -> None:
        """Serialize repricing runs of one org."""
        ...

    async def recorded_calls(self, scope: Scope, *, limit: int) -> list[Recorded]:
        """Calls in scope as the ledger holds them now (charge + adjustments)."""
        ...


class LedgerStore(Protocol):
    """Hands out ledger transactions: one org's (raising Contended), or all orgs' (None)."""

    def transaction(self, org_id: str | None = None) -> AbstractAsyncContextManager[LedgerTx]: ...


class Catalog(Protocol):
    """The price catalog table (adapters/catalog_repo.py)."""

    async def rows(self) -> list[CatalogRow]:
        """Every row, public and every org's."""
        ...

    async def add(self, row: CatalogRow, *, org_id: str, created_by: str, note: str | None) -> bool:
        """Add one admin price for `org_id` (public when row.org_id is None); False if taken."""
        ...


class CostReports(Protocol):
    """The read side of the cost API (adapters/costs_repo.py); rows are mappings."""

    async def evaluation_costs(
        self, *, evaluation_id: UUID, org_id: str, user_id: str | None
    ) -> Any: ...

    async def summary(
        self, window: Window, *, group_by: str | None, bucket: str
    ) -> tuple[list[Any], list[Any]]: ...

    async def rollup(self, window: Window, *, group_by: str | None, bucket: str) -> list[Any]: ...

    async def calls(self, f: CallFilter, *, after: Cursor | None, limit: int) -> list[Any]: ...
