"""Alert use cases: list an org's alerts and acknowledge one."""

from uuid import UUID

from rex_shared.errors import NotFound

from budget.adapters import alert_repo
from budget.adapters.alert_repo import StoredAlert
from budget.adapters.budget_repo import Cursor
from budget.adapters.pg import Conn


async def alerts_page(
    conn: Conn,
    *,
    org_id: str,
    acknowledged: bool | None,
    budget_id: UUID | None,
    kind: str | None,
    limit: int,
    after: Cursor | None,
    own: str | None,
) -> list[StoredAlert]:
    """The org's alerts after `after`, newest first (a member: those of their own budgets)."""
    return await alert_repo.page(
        conn,
        org_id=org_id,
        acknowledged=acknowledged,
        budget_id=budget_id,
        limit=limit,
        after=after,
        own=own,
        kind=kind,
    )


async def acknowledge(conn: Conn, *, org_id: str, alert_id: UUID, own: str | None) -> StoredAlert:
    """Mark an alert as seen; repeating it changes nothing."""
    alert = await alert_repo.acknowledge(conn, org_id=org_id, alert_id=alert_id, own=own)
    if alert is None:
        raise NotFound("alert")
    return alert
