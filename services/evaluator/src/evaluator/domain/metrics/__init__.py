"""The registry of metrics: a name unknown here is rejected when an evaluation is submitted."""

from evaluator.domain.metrics.answer_correctness import AnswerCorrectness
from evaluator.domain.metrics.answer_relevancy import AnswerRelevancy
from evaluator.domain.metrics.base import Metric
from evaluator.domain.metrics.context_precision import ContextPrecision
from evaluator.domain.metrics.context_recall import ContextRecall
from evaluator.domain.metrics.faithfulness import Faithfulness

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Faithfulness(),
        AnswerRelevancy(),
        ContextPrecision(),
        ContextRecall(),
        AnswerCorrectness(),
    )
}

__all__ = ["METRICS", "Metric"]
