"""Kafka administration: topics (and their dead-letter topics) created with their retention,
and consumer groups committed at the topics' end."""

import logging
from collections.abc import Iterable, Mapping
from contextlib import suppress

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata

from rex_shared import topics

log = logging.getLogger(__name__)

# Retention when the caller names none: a week of events to replay from, and a month for the
# dead letters, which wait for a person to look at them.
EVENT_RETENTION_MS = 7 * 24 * 3600 * 1000
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int = 3,
    replication: int = 1,
    retention_ms: int | None = EVENT_RETENTION_MS,
    dlq_retention_ms: int | None = DLQ_RETENTION_MS,
    config: Mapping[str, str] | None = None,
) -> None:
    """Create the topics (and their DLQs) if missing; safe to call from every instance.

    New topics get `partitions`, `replication`, the retention (None: the broker's default) and
    any further topic `config` (e.g. min.insync.replicas). Existing topics are left as they
    are: raising partitions moves keys to other partitions and is an operator's decision
    (docs/operations.md), so a topic with fewer partitions than asked is only logged.
    """
    wanted = {n: topics.dlq(n) for n in names}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="rex-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(
                name=name,
                num_partitions=partitions,
                replication_factor=replication,
                topic_configs=_topic_config(
                    dlq_retention_ms if dead else retention_ms, config or {}
                ),
            )
            for name, dead in _with_dlqs(wanted)
            if name not in existing
        ]
        if new:
            # Another instance may win the race; its topics are as good as ours.
            with suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        await _warn_if_fewer_partitions(admin, sorted(set(wanted) & existing), partitions)
    finally:
        await admin.close()


async def commit_groups_at_end(
    bootstrap: str, groups: Iterable[str], names: Iterable[str] = topics.ALL_TOPICS
) -> None:
    """Commit, for each of `groups`, the current end of every existing topic in `names`.

    A fresh consumer group would otherwise start at the topics' history (or wherever its
    offset reset points); tests, benchmarks and side stacks give their services a group of
    their own made this way, so they see only the events published from now on."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await probe.start()
    try:
        await probe._client.force_metadata_update()
        parts = [TopicPartition(t, p) for t in names for p in probe.partitions_for_topic(t) or ()]
        ends = dict(await probe.end_offsets(parts)) if parts else {}
    finally:
        await probe.stop()
    for group in groups:
        committer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await committer.start()
        try:
            if ends:
                committer.assign(list(ends))
                await committer.commit({tp: OffsetAndMetadata(o, "") for tp, o in ends.items()})
        finally:
            await committer.stop()


def _with_dlqs(wanted: Mapping[str, str]) -> list[tuple[str, bool]]:
    pairs = {name: False for name in wanted} | {dlq: True for dlq in wanted.values()}
    return sorted(pairs.items())


def _topic_config(retention_ms: int | None, config: Mapping[str, str]) -> dict[str, str]:
    settings = dict(config)
    if retention_ms is not None:
        settings.setdefault("retention.ms", str(retention_ms))
    return settings


async def _warn_if_fewer_partitions(
    admin: AIOKafkaAdminClient, names: list[str], partitions: int
) -> None:
    if not names:
        return
    try:
        described = await admin.describe_topics(names)
    except Exception as exc:  # only a warning is at stake; never block startup on it
        log.debug("could not describe topics %s: %s", names, exc)
        return
    for topic in described:
        count = len(topic.get("partitions") or ())
        if 0 < count < partitions:
            log.warning(
                "topic %s has %d partitions, fewer than the %d configured;"
                " see docs/operations.md (scaling) to add more",
                topic.get("topic"), count, partitions,
            )  # fmt: skip
