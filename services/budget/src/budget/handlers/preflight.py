"""Pre-flight check and reservations: hold an evaluation's estimate against its budgets."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from rex_shared.errors import Conflict, NotFound

from budget.adapters import budget_repo, reservation_repo
from budget.adapters.pg import Conn, Db
from budget.adapters.reservation_repo import Reservation, ReservationStatus
from budget.domain.exact import ZERO
from budget.domain.holds import Standing, Verdict, judge
from budget.domain.model import Payer
from budget.domain.periods import period_bounds
from budget.domain.thresholds import canonical
from budget.ports import ReservationExists


@dataclass(frozen=True)
class Request:
    """Who would spend how much (the org comes from the caller's token)."""

    org_id: str
    project_id: str
    user_id: str
    estimated_cost: Decimal


async def check(db: Db, req: Request, *, now: datetime) -> tuple[list[Standing], Verdict]:
    """Would the estimate fit? Reads only (one statement): no locks, no writes."""
    payer = Payer(org_id=req.org_id, project_id=req.project_id, user_id=req.user_id)
    standings = []
    for row in await budget_repo.covering_now(db, payer, now):
        budget = budget_repo.to_budget(row)
        bounds = period_bounds(budget.period, now, budget.timezone)
        # The latest row may belong to the grid before a period change: then nothing counts.
        current = row["p_start"] == bounds.start and row["p_end"] == bounds.end
        usage = canonical(row["p_usage"]) if current else ZERO
        standings.append(Standing(budget, usage, canonical(row["held"] or ZERO)))
    return standings, judge(standings, req.estimated_cost)


async def reserve(
    db: Db,
    req: Request,
    *,
    evaluation_id: UUID,
    created_by: str,
    now: datetime,
    ttl: timedelta,
    new_id: Callable[[], UUID],
) -> tuple[Reservation, Verdict]:
    """Hold the estimate against every applicable budget, or Conflict BUDGET_EXCEEDED.

    Two statements: the payer's budgets (their periods are computed here, in each budget's
    timezone), then `reservation_repo.reserve`, which locks those periods and decides and
    writes atomically, so reservations on any instance take turns on the same budgets.
    """
    # Budgets with provider/model/metric filters apply too: an estimate does not say which
    # the evaluation will use, so holding against them is the safe side.
    payer = Payer(org_id=req.org_id, project_id=req.project_id, user_id=req.user_id)
    budgets = await budget_repo.payer_budgets(db, payer)
    periods = [period_bounds(b.period, now, b.timezone) for b in budgets]
    reservation = Reservation(
        id=new_id(),
        org_id=req.org_id,
        evaluation_id=evaluation_id,
        project_id=req.project_id,
        user_id=req.user_id,
        estimated_cost=req.estimated_cost,
        consumed_amount=ZERO,
        held_amount=req.estimated_cost,
        status="active",
        budget_ids=[b.id for b in budgets],
        created_by=created_by,
        created_at=now,
        expires_at=now + ttl,
        ended_at=None,
        released_amount=None,
    )
    hold = reservation_repo.Hold(
        reservation,
        period_starts=[p.start for p in periods],
        period_ends=[p.end for p in periods],
        limits=[b.limit_amount for b in budgets],
        hard=[b.is_hard_limit for b in budgets],
    )
    try:
        held = await reservation_repo.reserve(db, hold, now=now)
    except ReservationExists as exc:  # raced by the same evaluation (no budgets)
        raise Conflict("RESERVATION_EXISTS", "the evaluation already holds one") from exc
    if held.outcome == "existing":  # the same evaluation asking again: its hold stands
        assert held.reservation is not None
        return held.reservation, judge([], ZERO)
    standings = [Standing(b, u, h) for b, u, h in zip(budgets, held.usage, held.held, strict=True)]
    verdict = judge(standings, req.estimated_cost)
    if held.outcome == "exceeded":
        # The database refused on the same exact comparison judge() makes.
        assert verdict.exceeded, "the database and judge() disagree on a hard limit"
        raise _exceeded(verdict, req.estimated_cost)
    assert held.reservation is not None
    return held.reservation, verdict


def _exceeded(verdict: Verdict, requested: Decimal) -> Conflict:
    first = verdict.exceeded[0]
    details = {
        "budget_id": str(first.budget.id),
        "budget_name": first.budget.name,
        "limit_amount": _s(first.budget.limit_amount),
        "usage_amount": _s(first.usage),
        "held_amount": _s(first.held),
        "requested": _s(requested),
    }
    message = f"budget {first.budget.name!r} would be exceeded"
    return Conflict("BUDGET_EXCEEDED", message, details)


def _s(amount: Decimal) -> str:
    return format(amount, "f")


async def reservation(
    conn: Conn, *, org_id: str, reservation_id: UUID, own: str | None
) -> Reservation:
    """A reservation and what it still holds (a member: only their own)."""
    found = await reservation_repo.get(conn, org_id=org_id, reservation_id=reservation_id)
    if found is None or (own is not None and found.user_id != own):
        raise NotFound("reservation")
    return found


async def settle(
    conn: Conn, *, org_id: str, reservation_id: UUID, own: str | None, now: datetime
) -> Reservation:
    """Release what the reservation still holds; settling twice changes nothing."""
    found = await reservation_repo.get(
        conn, org_id=org_id, reservation_id=reservation_id, for_update=True
    )
    if found is None or (own is not None and found.user_id != own):
        raise NotFound("reservation")
    if found.status != "active":
        return found
    # Past its expiry it has released everything already, swept or not.
    ending: ReservationStatus = "expired" if found.expires_at <= now else "settled"
    return await reservation_repo.end(conn, found.id, ending)
