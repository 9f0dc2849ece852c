"""Event contracts: frozen, unknown fields ignored, additive changes only.

One module per producer (costs: evaluator and cost-ledger; budgets; evaluations); import
them from here, `rex_shared.events`, as every service does.
"""

from rex_shared.events.base import REX_NAMESPACE, Contract, Payer, Usage
from rex_shared.events.budgets import (
    BudgetForecastExceeded,
    BudgetPeriodClosed,
    BudgetThresholdCrossed,
    Severity,
)
from rex_shared.events.costs import (
    Api,
    CallStatus,
    CostComponents,
    LlmCallCompleted,
    LlmCostRecorded,
)
from rex_shared.events.evaluations import EvaluationCompleted, MetricTotals

ALL_EVENTS: tuple[type[Contract], ...] = (
    LlmCallCompleted,
    LlmCostRecorded,
    BudgetThresholdCrossed,
    EvaluationCompleted,
    BudgetForecastExceeded,
    BudgetPeriodClosed,
)

__all__ = [
    "ALL_EVENTS",
    "REX_NAMESPACE",
    "Api",
    "BudgetForecastExceeded",
    "BudgetPeriodClosed",
    "BudgetThresholdCrossed",
    "CallStatus",
    "Contract",
    "CostComponents",
    "EvaluationCompleted",
    "LlmCallCompleted",
    "LlmCostRecorded",
    "MetricTotals",
    "Payer",
    "Severity",
    "Usage",
]
