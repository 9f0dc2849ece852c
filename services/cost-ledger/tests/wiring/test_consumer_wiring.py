"""The consumer wiring: each group member bootstrap builds reads the configured topic in the
configured group, in batches of the configured size, with the fast decoder and the DLQ path."""

from typing import Any

from cost_ledger.bootstrap import build_deps, calls_consumers
from cost_ledger.config import Settings
from rex_shared.consumer import fast_decode
from rex_shared.consuming import ConsumerLoop
from rex_shared.events import LlmCallCompleted


async def test_each_member_reads_the_configured_topic_group_and_batch_size() -> None:
    settings = Settings(database_url="postgresql://x@y/z", jwt_secret="s" * 48,
                        calls_topic="t.calls", consumer_group="g", consumer_max_records=1234,
                        consumer_concurrency=2, consumer_depth=3)  # fmt: skip
    producer: Any = object()
    pool: Any = object()  # nothing connects while wiring
    members = calls_consumers(build_deps(settings, pool=pool, producer=producer))
    for calls in members:
        assert isinstance(calls, ConsumerLoop)
        assert (calls.topics, calls.group_id, calls.max_records, calls.depth) == (
            ["t.calls"], "g", 1234, 3)  # fmt: skip
        batches = calls.batches["t.calls"]
        assert batches._model is LlmCallCompleted
        assert batches._decode is fast_decode
        assert batches._producer is producer  # poison goes to the DLQ through it
    assert len({id(m) for m in members}) == settings.consumer_concurrency == 2
