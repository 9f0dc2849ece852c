"""What every metric is: a pure state machine from a row and its judge outputs so far."""

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from evaluator.domain.model import JudgePrompt, MetricOutcome, Row


class Metric(Protocol):
    """A metric asks the judge one step at a time, then scores from the parsed outputs."""

    name: str
    steps: tuple[str, ...]  # the judge steps it may take, in order

    def missing_fields(self, row: Row) -> list[str]:
        """Row fields this metric needs that are empty (checked at submit time)."""
        ...

    def advance(
        self, row: Row, outputs: Sequence[Mapping[str, Any]]
    ) -> JudgePrompt | MetricOutcome:
        """The next judge call, or the outcome once the outputs suffice."""
        ...

    def forecast(self, row: Row) -> list[JudgePrompt]:
        """The judge calls a run will most likely make on `row` (for cost predictions)."""
        ...
