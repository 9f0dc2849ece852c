"""CloudEvents 1.0 binary content mode over Kafka: attributes in `ce_*` headers, data as value."""

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import uuid4

from pydantic import ValidationError

from rex_shared.events import Contract
from rex_shared.topics import ce_type

E = TypeVar("E", bound=Contract)

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class OutgoingEvent:
    """An event ready to publish: id, type, source, time, topic, key and JSON value."""

    id: str
    topic: str
    type: str
    source: str
    time: datetime
    key: str | None
    data: bytes

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers for binary content mode."""
        values = (self.id, self.source, self.type, self.time.isoformat())
        return [(name, value.encode()) for name, value in _headers(*values, constant=str)]


def _headers(
    id: str, source: str, type: str, time: str, *, constant: Callable[[str], str]
) -> list[tuple[str, str]]:
    """The binary content mode headers, the one list both Kafka headers and SQL are made from."""
    return [
        ("ce_specversion", constant(SPECVERSION)),
        ("ce_id", id),
        ("ce_source", source),
        ("ce_type", type),
        ("ce_time", time),
        ("content-type", constant(CONTENT_TYPE)),
    ]


def headers_sql(*, id: str, source: str, type: str, time: str) -> str:
    """The same headers as a SQL jsonb object, for statements that write outbox rows themselves
    (arguments: SQL expressions giving the id, source, type and ISO time as text)."""
    pairs = _headers(id, source, type, time, constant=_sql_literal)
    return "jsonb_build_object(" + ", ".join(f"{_sql_literal(k)}, {v}" for k, v in pairs) + ")"


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def build(
    event: Contract,
    *,
    source: str,
    event_id: str | None = None,
    key: str | None = None,
    time: datetime | None = None,
) -> OutgoingEvent:
    """Wrap a contract model as a CloudEvent for its topic."""
    return OutgoingEvent(
        id=event_id or str(uuid4()),
        topic=event.topic,
        type=ce_type(event.topic),
        source=source,
        time=time or datetime.now(UTC),
        key=key,
        data=event.model_dump_json().encode(),
    )


@dataclass(frozen=True)
class IncomingEvent:
    """A received event: CloudEvents attributes and the raw JSON data."""

    id: str
    type: str | None
    source: str | None
    data: dict[str, Any]


class PoisonMessage(Exception):
    """A record that can never be processed; it belongs in the dead-letter topic."""


def headers_dict(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, str]:
    """Kafka header pairs as a str dict (last one wins)."""
    return {k: v.decode("utf-8", "replace") for k, v in headers or () if v is not None}


def parse(value: bytes | None, headers: Sequence[tuple[str, bytes]] | None) -> IncomingEvent:
    """Read a record as a CloudEvent; plain JSON without `ce_id` falls back to a data field id."""
    if not value:
        raise PoisonMessage("empty message value")
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PoisonMessage(f"value is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PoisonMessage("value is not a JSON object")
    attrs = headers_dict(headers)
    event_id = attrs.get("ce_id") or _fallback_id(data)
    if not event_id:
        raise PoisonMessage("no ce_id header and no id field in the data")
    return IncomingEvent(
        id=event_id, type=attrs.get("ce_type"), source=attrs.get("ce_source"), data=data
    )


def _fallback_id(data: dict[str, Any]) -> str | None:
    for field in ("call_id", "alert_id", "event_id", "id"):
        if isinstance(data.get(field), str):
            return str(data[field])
    return None


def decode(incoming: IncomingEvent, model: type[E]) -> E:
    """Validate the data of `incoming` as `model`, or raise PoisonMessage with the reason."""
    try:
        event: E = model.model_validate(incoming.data)
        return event
    except ValidationError as exc:
        raise PoisonMessage(f"invalid {model.__name__}: {_brief(exc)}") from exc


def _brief(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)
