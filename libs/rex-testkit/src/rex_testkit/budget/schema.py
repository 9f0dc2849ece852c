"""The budget schema's tenant tables: each has an org_id and a row-level security policy."""

TENANT_TABLES = [
    "budgets",
    "budget_periods",
    "threshold_firings",
    "cost_alerts",
    "period_closures",
    "reservations",
    "reservation_holds",
    "budget_holds",
]
