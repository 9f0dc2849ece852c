"""The registry of metrics: a name unknown here is rejected when an evaluation is submitted."""

from evaluator.domain.metrics.base import Metric
from evaluator.domain.metrics.faithfulness import Faithfulness

METRICS: dict[str, Metric] = {m.name: m for m in (Faithfulness(),)}

__all__ = ["METRICS", "Metric"]
