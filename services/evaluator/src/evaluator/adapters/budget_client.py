"""The budget service's reservations API as the evaluator uses it."""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from evaluator.adapters.peer_http import PeerHttp, ServiceTokens, call, post_for_data
from evaluator.domain.model import Reservation
from evaluator.ports import ServiceUnavailable


@dataclass
class BudgetClient:
    """`POST /api/v1/budgets/reservations` and `.../{id}/settle`."""

    base_url: str
    tokens: ServiceTokens
    http: PeerHttp

    async def reserve(
        self,
        *,
        org_id: str,
        user_id: str,
        project_id: str,
        estimated_cost: Decimal,
        evaluation_id: UUID,
    ) -> Reservation:
        body = {
            "project_id": project_id,
            "user_id": user_id,
            "estimated_cost": format(estimated_cost, "f"),
            "evaluation_id": str(evaluation_id),
        }
        url = f"{self.base_url}/api/v1/budgets/reservations"
        headers = self.tokens.headers(org_id, user_id)
        data = await post_for_data(self.http, "budget", url, json=body, headers=headers)
        return Reservation(
            str(data["id"]),
            Decimal(str(data.get("held_amount", "0"))),
            list(data.get("warnings") or []),
        )

    async def settle(self, *, org_id: str, user_id: str, reservation_id: str) -> None:
        status, reply = await call(
            self.http,
            "budget",
            "POST",
            f"{self.base_url}/api/v1/budgets/reservations/{reservation_id}/settle",
            headers=self.tokens.headers(org_id, user_id),
        )
        if status >= 400 and status != 409:  # 409: settled or expired already
            raise ServiceUnavailable("budget", f"settle refused: HTTP {status} {reply}")
