"""What every service reports about itself: event metrics, log context, errors to Sentry.

Services get all of it through the plumbing they already call (BatchConsumer, send_events,
setup_logging, serve); the metric names here are the operations contract in
docs/operations.md.
"""

import contextvars
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import MappingProxyType
from typing import Any

from aiokafka.structs import ConsumerRecord, TopicPartition
from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

EVENTS_PUBLISHED = Counter(
    "rex_events_published_total", "Events the broker acknowledged, by topic", ["topic"]
)
CONSUMER_LAG = Gauge(
    "rex_consumer_lag",
    "Records between the last processed offset and the partition's end, after each batch",
    ["consumer", "topic", "partition"],
)
LAST_BATCH = Gauge(
    "rex_consumer_last_batch_timestamp_seconds",
    "Unix time the consumer last finished a batch (a stuck consumer stops moving it)",
    ["consumer"],
)
PROCESSING_LATENCY = Histogram(
    "rex_event_processing_latency_seconds",
    "From the event's time (CloudEvents ce_time, else the Kafka timestamp) to processed",
    ["consumer", "topic"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)


# ---- consumer metrics


class Records(tuple[ConsumerRecord, ...]):
    """A polled batch, plus each partition's end offset as the consumer last saw it."""

    highwaters: Mapping[TopicPartition, int]

    def __new__(
        cls, records: Iterable[ConsumerRecord], highwaters: Mapping[TopicPartition, int]
    ) -> "Records":
        self = super().__new__(cls, records)
        self.highwaters = highwaters
        return self


def highwaters(consumer: Any, records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:
    """The end offset of every partition in the batch, from the aiokafka consumer's last fetch."""
    known: dict[TopicPartition, int] = {}
    end_of = getattr(consumer, "highwater", None)  # absent on FastStream's in-memory broker
    if end_of is None:
        return known
    for topic, partition in {(r.topic, r.partition) for r in records}:
        tp = TopicPartition(topic, partition)
        end = end_of(tp)
        if isinstance(end, int):
            known[tp] = end
    return known


def observe_batch(
    consumer: str,
    records: Sequence[ConsumerRecord],
    *,
    now: float,
    ends: Mapping[TopicPartition, int] | None = None,
) -> None:
    """After a batch: lag per partition, latency per event, and that the consumer moves.

    `ends` are the partitions' end offsets (default: those `raw_records` attached).
    """
    ends = ends if ends is not None else getattr(records, "highwaters", None) or {}
    last: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        last[tp] = max(last.get(tp, -1), record.offset)
        born = event_time(record)
        if born is not None:
            PROCESSING_LATENCY.labels(consumer, record.topic).observe(max(0.0, now - born))
    for tp, offset in last.items():
        if tp in ends:
            lag = max(0, ends[tp] - offset - 1)
            CONSUMER_LAG.labels(consumer, tp.topic, str(tp.partition)).set(lag)
    LAST_BATCH.labels(consumer).set(now)


def event_time(record: ConsumerRecord) -> float | None:
    """Unix time the event happened: its `ce_time` header, else the record's Kafka timestamp."""
    for key, value in record.headers or ():
        if key == "ce_time" and value:
            try:
                return datetime.fromisoformat(value.decode()).timestamp()
            except (ValueError, UnicodeDecodeError):
                break
    stamp = getattr(record, "timestamp", None)
    return stamp / 1000 if isinstance(stamp, int) and stamp > 0 else None


def count_published(topics: Iterable[str]) -> None:
    """Count acknowledged events per topic (one increment per topic, not per event)."""
    per_topic: dict[str, int] = {}
    for topic in topics:
        per_topic[topic] = per_topic.get(topic, 0) + 1
    for topic, n in per_topic.items():
        EVENTS_PUBLISHED.labels(topic).inc(n)


# ---- log context

_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})  # read-only: safe to share as default
_CONTEXT: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "rex_log_context", default=_NO_FIELDS
)
CONTEXT_FIELDS = ("org_id", "evaluation_id", "project_id", "user_id")


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (event_id, org_id, ...) to every log record emitted inside the block."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> Mapping[str, Any]:
    """The fields the enclosing `log_context` blocks set."""
    return _CONTEXT.get()


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record; explicit `extra=` fields win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def batch_fields(events: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Context for a batch of (event_id, event): the event id when alone, shared ids always."""
    fields: dict[str, Any] = {}
    if len(events) == 1:
        fields["event_id"] = events[0][0]
    for name in CONTEXT_FIELDS:
        first = getattr(events[0][1], name, None) if events else None
        # Stops at the first event that differs: a mixed batch costs a couple of comparisons.
        if first is not None and all(getattr(e, name, None) == first for _, e in events):
            fields[name] = str(first)
    return fields


def record_fields(record: ConsumerRecord) -> dict[str, Any]:
    """Context for one raw record: where it sits and its CloudEvents id when it has one."""
    fields: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
    }
    for key, value in record.headers or ():
        if key == "ce_id" and value:
            fields["event_id"] = value.decode("utf-8", "replace")
    return fields


# ---- errors to Sentry


def init_sentry(dsn: str | None, *, service: str, env: str, release: str | None = None) -> bool:
    """Report errors (and ERROR log lines) to Sentry when a DSN is given; off otherwise."""
    if not dsn:
        return False
    import sentry_sdk  # imported only when reporting is on

    sentry_sdk.init(
        dsn=dsn,
        environment=env,
        release=release,
        server_name=service,
        send_default_pii=False,  # no request bodies, cookies or user IPs leave the process
        traces_sample_rate=0.0,  # errors only; latency lives in Prometheus
    )
    sentry_sdk.set_tag("service", service)
    log.info("errors are reported to Sentry", extra={"sentry_env": env})
    return True


def now() -> float:
    """Wall-clock Unix time (event times are wall-clock too)."""
    return time.time()
