"""Alerts: thresholds crossed by a charge, forecasts over the limit, and re-evaluation.

Threshold state per (budget, period, threshold, kind) is armed until it fires once; the
storage keeps a row per fired key (`FiredKey`), and re-arming removes the row.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from budget.domain.exact import exact
from budget.domain.forecast import Forecast, ForecastPolicy, forecast
from budget.domain.model import AlertKind, Budget, ThresholdBasis
from budget.domain.periods import PeriodBounds
from budget.domain.thresholds import (
    HUNDRED,
    Severity,
    Threshold,
    canonical,
    crossed,
    severity,
    thresholds_of,
    usage_percent,
)

FiredKey = tuple[ThresholdBasis, Decimal, AlertKind]
# A forecast fires once per period; it is stored as the 100 % threshold of kind "forecast".
FORECAST_THRESHOLD = Threshold("percent", HUNDRED)


@dataclass(frozen=True)
class Alert:
    """A threshold crossed (or forecast to be) in a period: one cost_alerts row and events."""

    id: UUID
    budget: Budget
    period: PeriodBounds
    threshold: Threshold
    kind: AlertKind
    severity: Severity
    usage_amount: Decimal
    usage_percent: Decimal
    crossed_at: datetime
    forecast: Forecast | None = None

    @property
    def key(self) -> FiredKey:
        """The threshold-state key this alert fires."""
        return (self.threshold.basis, self.threshold.value, self.kind)

    @property
    def threshold_percent(self) -> Decimal:
        """The threshold as a percent of the limit when it fired."""
        return canonical(self.threshold.percent(self.budget.limit_amount))

    @property
    def threshold_amount(self) -> Decimal:
        """The usage in USD at which the threshold is reached under the limit when it fired."""
        return canonical(self.threshold.amount(self.budget.limit_amount))


def _actual(
    budget: Budget, period: PeriodBounds, t: Threshold, usage: Decimal, at: datetime, new_id: UUID
) -> Alert:
    level = severity(t.percent(budget.limit_amount))
    percent = usage_percent(usage, budget.limit_amount)
    return Alert(new_id, budget, period, t, "actual", level, canonical(usage), percent, at)


def alerts_for(
    budget: Budget,
    period: PeriodBounds,
    *,
    added: Decimal,
    new_usage: Decimal,
    crossed_at: datetime,
    new_id: Callable[[], UUID],
) -> list[Alert]:
    """Alerts raised when adding `added` brought usage to `new_usage`, lowest first."""
    with exact():
        old_usage = new_usage - added
    hit = crossed(thresholds_of(budget), limit=budget.limit_amount, old=old_usage, new=new_usage)
    return [_actual(budget, period, t, new_usage, crossed_at, new_id()) for t in hit]


def forecast_alert(
    budget: Budget,
    period: PeriodBounds,
    *,
    usage: Decimal,
    now: datetime,
    policy: ForecastPolicy,
    new_id: Callable[[], UUID],
) -> Alert | None:
    """A forecast alert when spend, projected to the period's end, exceeds the limit.

    Only while usage is still below the limit: past it, the 100 % threshold has spoken.
    """
    if usage >= budget.limit_amount:
        return None
    projection = forecast(period, usage=usage, limit=budget.limit_amount, now=now, policy=policy)
    if projection is None or not projection.exceeds_limit:
        return None
    percent = usage_percent(usage, budget.limit_amount)
    return Alert(
        new_id(),
        budget,
        period,
        FORECAST_THRESHOLD,
        "forecast",
        severity(percent),  # a prediction is as loud as the spend so far, not as the limit
        canonical(usage),
        percent,
        now,
        projection,
    )


@dataclass(frozen=True)
class Reevaluation:
    """What a changed budget does to its current period's threshold state."""

    fire: list[Alert]
    rearm: list[FiredKey]


def reevaluate(
    budget: Budget,
    period: PeriodBounds,
    *,
    usage: Decimal,
    fired: Collection[FiredKey],
    now: datetime,
    policy: ForecastPolicy,
    new_id: Callable[[], UUID],
) -> Reevaluation:
    """Against the (new) limit: fire armed thresholds now reached, re-arm fired ones not."""
    fire: list[Alert] = []
    rearm: list[FiredKey] = []
    limit = budget.limit_amount
    for t in sorted(set(thresholds_of(budget)), key=lambda t: (t.amount(limit), t)):
        key: FiredKey = (t.basis, t.value, "actual")
        reached = t.amount(limit) <= usage
        if reached and key not in fired:
            fire.append(_actual(budget, period, t, usage, now, new_id()))
        elif not reached and key in fired:
            rearm.append(key)
    forecast_key: FiredKey = ("percent", HUNDRED, "forecast")
    if forecast_key in fired:
        # Re-armed only when a trusted projection now stays within the (raised) limit.
        projection = forecast(period, usage=usage, limit=limit, now=now, policy=policy)
        if projection is not None and not projection.exceeds_limit:
            rearm.append(forecast_key)
    else:
        wanted = forecast_alert(budget, period, usage=usage, now=now, policy=policy, new_id=new_id)
        fire += [wanted] if wanted else []
    return Reevaluation(fire, rearm)
