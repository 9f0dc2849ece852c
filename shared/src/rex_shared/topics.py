"""Topic names and CloudEvents types: defined here once, used everywhere."""

LLM_CALL_COMPLETED = "llm.call.completed"
LLM_COST_RECORDED = "llm.cost.recorded"
EVALUATION_COMPLETED = "evaluation.completed"
BUDGET_THRESHOLD_CROSSED = "budget.threshold.crossed"
BUDGET_FORECAST_EXCEEDED = "budget.forecast.exceeded"
BUDGET_PERIOD_CLOSED = "budget.period.closed"

ALL_TOPICS = (
    LLM_CALL_COMPLETED,
    LLM_COST_RECORDED,
    EVALUATION_COMPLETED,
    BUDGET_THRESHOLD_CROSSED,
    BUDGET_FORECAST_EXCEEDED,
    BUDGET_PERIOD_CLOSED,
)


def dlq(topic: str) -> str:
    """The dead-letter topic of `topic`."""
    return f"{topic}.dlq"


def ce_type(topic: str, version: int = 1) -> str:
    """The versioned CloudEvents type of the events on `topic`."""
    return f"rex.{topic}.v{version}"
