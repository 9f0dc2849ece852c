"""The tracking library's defaults are the evaluator's outbox and source, so code tracking
its calls (`rex_tracking`, or `evaluator.tracking` that re-exports it) enters the pipeline
exactly as the evaluator's judge calls do."""

import rex_tracking
from evaluator import tracking
from evaluator.config import SCHEMA, SOURCE


def test_the_library_defaults_are_the_evaluators_schema_and_source() -> None:
    assert (rex_tracking.DEFAULT_SCHEMA, rex_tracking.DEFAULT_SOURCE) == (SCHEMA, SOURCE)


def test_the_old_module_is_the_library() -> None:
    assert tracking.track_llm_cost is rex_tracking.track_llm_cost
    assert tracking.OutboxSink is rex_tracking.OutboxSink
