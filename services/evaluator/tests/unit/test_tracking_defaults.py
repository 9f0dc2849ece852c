"""The tracking library's defaults are the evaluator's outbox and source, so code tracking
its calls with `rex_tracking` enters the pipeline exactly as the evaluator's judge calls do."""

import rex_tracking
from evaluator.config import SCHEMA, SOURCE


def test_the_library_defaults_are_the_evaluators_schema_and_source() -> None:
    assert (rex_tracking.DEFAULT_SCHEMA, rex_tracking.DEFAULT_SOURCE) == (SCHEMA, SOURCE)
