"""Domain objects shaped as API replies."""

from budget.domain.alerts import FORECAST_THRESHOLD
from budget.domain.model import AlertKind
from budget.domain.thresholds import Threshold, canonical, thresholds_of
from budget.domain.usage import PeriodStatus
from budget.entrypoints.schemas import (
    CurrentPeriodOut,
    ForecastOut,
    PeriodOut,
    ThresholdStateOut,
)
from budget.service import BudgetView


def period_out(status: PeriodStatus) -> PeriodOut:
    return PeriodOut(
        period_start=status.period.start,
        period_end=status.period.end,
        usage_amount=status.usage_amount,
        usage_percent=status.usage_percent,
        remaining=status.remaining,
        events=status.events,
    )


def current_period_out(view: BudgetView) -> CurrentPeriodOut:
    """The current period with its forecast and the state of every threshold."""
    return CurrentPeriodOut(
        **period_out(view.status).model_dump(),
        forecast=_forecast_out(view),
        thresholds=_thresholds_out(view),
    )


def _forecast_out(view: BudgetView) -> ForecastOut:
    f = view.forecast
    if f is None:
        return ForecastOut(status="insufficient_data")
    return ForecastOut(
        status="ok",
        projected_amount=f.projected_amount,
        projected_percent=f.projected_percent,
        burn_rate_per_hour=f.burn_rate_per_hour,
        exceeds_limit=f.exceeds_limit,
        runs_out_at=f.runs_out_at,
    )


def _thresholds_out(view: BudgetView) -> list[ThresholdStateOut]:
    limit = view.budget.limit_amount
    fired = {f.key: f for f in view.fired}
    listed: list[tuple[Threshold, AlertKind]] = [(t, "actual") for t in thresholds_of(view.budget)]
    listed.append((FORECAST_THRESHOLD, "forecast"))
    out = []
    for t, kind in listed:
        firing = fired.get((t.basis, t.value, kind))
        out.append(
            ThresholdStateOut(
                basis=t.basis,
                value=t.value,
                kind=kind,
                amount=canonical(t.amount(limit)),
                state="fired" if firing else "armed",
                alert_id=firing.alert_id if firing else None,
                fired_at=firing.fired_at if firing else None,
            )
        )
    return out
