"""Alert use cases: list an org's alerts and acknowledge one."""

from uuid import UUID

from rex_shared.errors import NotFound

from budget.adapters import alert_repo
from budget.adapters.alert_repo import StoredAlert
from budget.adapters.pg import Conn

# Listing is a plain read: the repository's keyset query (a member: their own budgets'
# alerts) is the whole use case.
alerts_page = alert_repo.page


async def acknowledge(conn: Conn, *, org_id: str, alert_id: UUID, own: str | None) -> StoredAlert:
    """Mark an alert as seen; repeating it changes nothing."""
    alert = await alert_repo.acknowledge(conn, org_id=org_id, alert_id=alert_id, own=own)
    if alert is None:
        raise NotFound("alert")
    return alert
