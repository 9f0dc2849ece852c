"""Every use case of the budget service, HTTP-free: usage, budgets, alerts, pre-flight."""
