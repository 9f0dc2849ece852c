"""Kept for code written against `evaluator.tracking` (the evaluator's README documented it):
cost tracking now lives in the `rex_tracking` package, which needs no evaluator. New code
imports `rex_tracking`."""

from rex_tracking import (
    BufferedOutboxSink,
    CostSink,
    KafkaSink,
    MemorySink,
    OutboxSink,
    Payer,
    TrackedCall,
    build_event,
    outgoing,
    paying,
    set_default_sink,
    track_call,
    track_llm_cost,
)

__all__ = [
    "BufferedOutboxSink",
    "CostSink",
    "KafkaSink",
    "MemorySink",
    "OutboxSink",
    "Payer",
    "TrackedCall",
    "build_event",
    "outgoing",
    "paying",
    "set_default_sink",
    "track_call",
    "track_llm_cost",
]
