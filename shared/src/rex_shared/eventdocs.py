"""docs/events.md, generated from the committed JSON Schemas (shared/schemas) and AsyncAPI
documents (docs/asyncapi): `python -m rex_shared.eventdocs` rewrites it (`make contracts`)."""

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from rex_shared import topics
from rex_shared.cloudevents import OutgoingEvent

REPO = Path(__file__).resolve().parents[3]
SCHEMAS = REPO / "shared" / "schemas"
ASYNCAPI = REPO / "docs" / "asyncapi"
OUTPUT = REPO / "docs" / "events.md"

# What the schemas cannot say: the Kafka key and how the producer derives the event id
# (`ce_id`, the consumers' idempotency key). REX_NS is rex_shared.events.REX_NAMESPACE.
WIRE: dict[str, tuple[str, str]] = {
    topics.LLM_CALL_COMPLETED: ("`call_id`", "`call_id`"),
    topics.LLM_COST_RECORDED: (
        "`org_id`",
        'charge: uuid5(REX_NS, "cost:" + call_id); adjustment:'
        ' uuid5(REX_NS, "adjust:" + adjustment_id)',
    ),
    topics.EVALUATION_COMPLETED: (
        "`org_id`",
        'uuid5(6f1c1b7e-3d0a-5d2e-9a57-2f6f0f6b7c11, "evaluation.completed:" + evaluation_id)',
    ),
    topics.BUDGET_THRESHOLD_CROSSED: ("`org_id`", "`alert_id`"),
    topics.BUDGET_FORECAST_EXCEEDED: ("`org_id`", 'uuid5(REX_NS, "forecast:" + alert_id)'),
    topics.BUDGET_PERIOD_CLOSED: (
        "`org_id`",
        'uuid5(REX_NS, "period-closed:" + budget_id + ":" + period_start ISO-8601)',
    ),
}

# Additions to the first version of the contract: optional to every reader.
_BASIS = ("threshold_basis", "threshold_amount", "projected_amount", "runs_out_at")
ADDED_FIELDS: dict[str, tuple[str, ...]] = {
    topics.LLM_CALL_COMPLETED: ("row_index",),
    topics.LLM_COST_RECORDED: ("entry_kind", "adjusts_call_id", "adjustment_id"),
    topics.BUDGET_THRESHOLD_CROSSED: _BASIS,
}
ADDED_EVENTS = (topics.BUDGET_FORECAST_EXCEEDED, topics.BUDGET_PERIOD_CLOSED)


@dataclass
class Routes:
    """Who produces and who consumes a topic, as the AsyncAPI documents say."""

    producers: list[str] = field(default_factory=list)
    consumers: list[tuple[str, str]] = field(default_factory=list)  # (service, group)
    documents: list[str] = field(default_factory=list)


def _load(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(path.read_text()))


def routes() -> dict[str, Routes]:
    """topic -> producers, consumers (with their group) and the AsyncAPI files naming it."""
    found: dict[str, Routes] = {}
    for path in sorted(ASYNCAPI.glob("*.json")):
        doc, service = _load(path), path.stem
        for _, operation in sorted(doc["operations"].items()):
            channel = doc["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]
            route = found.setdefault(channel["address"], Routes())
            if operation["action"] == "send":
                route.producers.append(service)
            else:
                group = re.search(r"\(group ([^)]+)\)", channel.get("description", ""))
                route.consumers.append((service, group[1] if group else service))
            route.documents.append(f"[`docs/asyncapi/{path.name}`](asyncapi/{path.name})")
    return found


def schemas() -> dict[str, dict[str, Any]]:
    """topic -> its committed JSON Schema, in rex_shared.topics order."""
    by_topic = {}
    for path in SCHEMAS.glob("*.json"):
        schema = _load(path)
        match = re.fullmatch(r"rex\.(.+)\.v\d+", schema["$id"])
        if not match or topics.ce_type(match[1]) != schema["$id"]:
            raise ValueError(f"{path.name}: $id {schema['$id']!r} names no REX topic")
        by_topic[match[1]] = schema | {"file": path.name}
    unknown = set(by_topic) - set(topics.ALL_TOPICS)
    if unknown:
        raise ValueError(f"schemas for topics missing from rex_shared.topics: {sorted(unknown)}")
    return {t: by_topic[t] for t in topics.ALL_TOPICS if t in by_topic}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def type_of(prop: dict[str, Any]) -> str:
    """A property's JSON type in a few words: format, bounds, enum values, nullability."""
    if "$ref" in prop:
        return f"object `{prop['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in prop:
        return " or ".join(type_of(p) for p in prop["anyOf"])
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    kind = str(prop.get("type", "any"))
    if kind == "array":
        return f"array of {type_of(prop.get('items', {}))}"
    text = kind + (f" ({prop['format']})" if "format" in prop else "")
    text += f" >= {prop['minimum']}" if "minimum" in prop else ""
    if "minLength" in prop or "maxLength" in prop:
        text += f", length {prop.get('minLength', 0)}-{prop.get('maxLength', '')}"
    return text


def _table(schema: dict[str, Any], added: tuple[str, ...] = ()) -> list[str]:
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        default = f" (default `{json.dumps(prop['default'])}`)" if "default" in prop else ""
        need = "yes" if name in required else "no" + default
        about = prop.get("description") or "(no description in the schema)"
        mark = " *(added since v1)*" if name in added else ""
        lines.append(f"| `{name}`{mark} | {_cell(type_of(prop))} | {need} | {_cell(about)} |")
    return lines


def _facts(topic: str, schema: dict[str, Any], route: Routes) -> list[str]:
    key, event_id = WIRE[topic]
    producers = ", ".join(route.producers) or "none in REX"
    consumers = ", ".join(f"{s} (group `{g}`)" for s, g in route.consumers) or (
        "none in REX (for any subscriber outside it)"
    )
    rows = [
        ("topic", f"`{topic}` (dead letters: `{topics.dlq(topic)}`)"),
        ("CloudEvents type (`ce_type`)", f"`{schema['$id']}`"),
        ("source (`ce_source`)", ", ".join(f"`rex/{p}`" for p in route.producers) or "-"),
        ("producer", producers),
        ("consumers", consumers),
        ("Kafka key", key),
        ("event id (`ce_id`)", event_id),
        ("model", f"`rex_shared.events.{schema['title']}`"),
        ("JSON Schema", f"[`shared/schemas/{schema['file']}`](../shared/schemas/{schema['file']})"),
        ("AsyncAPI", ", ".join(route.documents)),
    ]
    return ["| | |", "|---|---|", *(f"| {k} | {_cell(v)} |" for k, v in rows)]


def _section(topic: str, schema: dict[str, Any], route: Routes) -> list[str]:
    added = ADDED_FIELDS.get(topic, ())
    if missing := set(added) - set(schema["properties"]):
        raise ValueError(f"{topic}: fields listed as added are not in its schema: {missing}")
    lines = [f"## {topic}", "", schema.get("description", "(no description in the schema)")]
    if topic in ADDED_EVENTS:
        lines += ["", "*Added since v1 of the contract.*"]
    lines += ["", *_facts(topic, schema, route), "", *_table(schema, added)]
    for name, sub in sorted(schema.get("$defs", {}).items()):
        about = sub.get("description", "(no description in the schema)")
        lines += ["", f"### `{name}` (inside `{topic}`)", "", about, "", *_table(sub)]
    return [*lines, ""]


_INTRO = """# Events

Generated by `python -m rex_shared.eventdocs` (`make contracts`) from the committed JSON
Schemas (`shared/schemas/`) and AsyncAPI documents (`docs/asyncapi/`): do not edit by hand;
a unit test fails when this page differs from what the generator writes.
How the events move and why each is counted once: [architecture](architecture.md).

Every event is a CloudEvents 1.0 record in **binary content mode** on Kafka: the value is the
event's data as plain JSON (below), the attributes are headers:

| header | value |
|---|---|
{headers}

Rules for every event: unknown fields are ignored by readers and changes are additive only
(a new field is optional); money is an exact USD decimal string (`"0.00725"`, JSON type
`string`, never a number; a float is refused), as are percentages; times are UTC ISO-8601.
A re-sent event keeps its `ce_id`, and consumers skip an id they processed before.

| topic | CloudEvents type | producer | consumers | key |
|---|---|---|---|---|
{overview}
"""

_HEADER_MEANING = {
    "ce_specversion": "`1.0`",
    "ce_id": "the event id: deterministic per event, the consumers' idempotency key",
    "ce_source": "`rex/<producing service>`",
    "ce_type": "`rex.<topic>.v<version>`",
    "ce_time": "when the event happened (ISO-8601)",
    "content-type": "`application/json`",
}


_DEAD_LETTERS = """## Dead-letter topics

Every topic above has a `<topic>.dlq`, created with it (retention 30 days against 7 for event
topics). A consumer copies a record there, value, key and headers unchanged, when it cannot be
parsed or validated, or when processing it failed 3 times and then once more on its own;
transient errors (database or broker away) never dead-letter: the batch is redelivered
instead. The copy gets these headers (`rex_shared.kafka.send_to_dlq`):

| header | value |
|---|---|
| `dlq_reason` | why: the parse or validation error, or the processing error |
| `dlq_source_topic` | the topic the record came from |
| `dlq_source_partition` | its partition |
| `dlq_source_offset` | its offset |
| `dlq_consumer` | the consumer that gave up on it |

Dead-letter topics: {names}.
How to read and replay them: [operations, dead letter queues](operations.md#dead-letter-queues).
"""


def _overview_row(topic: str, schema: dict[str, Any], route: Routes) -> str:
    producers = ", ".join(route.producers) or "-"
    consumers = ", ".join(s for s, _ in route.consumers) or "-"
    link = f"[`{topic}`](#{topic.replace('.', '')})"
    return f"| {link} | `{schema['$id']}` | {producers} | {consumers} | {WIRE[topic][0]} |"


def render() -> str:
    """The page as the committed schemas and AsyncAPI documents describe the events today."""
    found, by_topic = routes(), schemas()
    sample = OutgoingEvent("id", "t", "type", "src", datetime.now(UTC), None, b"")
    headers = "\n".join(f"| `{k}` | {_HEADER_MEANING[k]} |" for k, _ in sample.headers())
    overview = "\n".join(_overview_row(t, s, found.get(t, Routes())) for t, s in by_topic.items())
    page = [_INTRO.format(headers=headers, overview=overview)]
    for topic, schema in by_topic.items():
        page += _section(topic, schema, found.get(topic, Routes()))
    page.append(_DEAD_LETTERS.format(names=", ".join(f"`{topics.dlq(t)}`" for t in by_topic)))
    return "\n".join(page).rstrip("\n") + "\n"


def write() -> Path:
    """Rewrite docs/events.md."""
    OUTPUT.write_text(render())
    return OUTPUT


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write()}\n")
