"""docs/events.md is what `python -m rex_shared.eventdocs` writes from the committed contracts,
and the facts it adds to the schemas (sources, keys, ids, DLQ headers) are the code's."""

import inspect
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from rex_shared import eventdocs, kafka, topics
from rex_shared.events import LlmCallCompleted, Usage

pytestmark = pytest.mark.unit


def test_events_md_is_what_the_generator_writes_today() -> None:
    # A failure means a schema, an AsyncAPI document or the generator changed without the
    # page: run `make contracts` (or `python -m rex_shared.eventdocs`) and commit docs/events.md.
    assert eventdocs.OUTPUT.read_text() == eventdocs.render()


def test_every_topic_has_a_schema_a_producer_and_wire_facts() -> None:
    by_topic, found = eventdocs.schemas(), eventdocs.routes()
    assert list(by_topic) == list(topics.ALL_TOPICS)
    assert set(eventdocs.WIRE) == set(topics.ALL_TOPICS)
    for topic in topics.ALL_TOPICS:
        assert found[topic].producers, f"{topic}: no AsyncAPI document sends it"


def test_a_field_without_a_description_says_so_instead_of_inventing_one() -> None:
    schema = {"properties": {"x": {"type": "string"}}, "required": ["x"]}
    assert eventdocs._table(schema)[-1] == (
        "| `x` | string | yes | (no description in the schema) |"
    )


@pytest.mark.parametrize(
    ("prop", "text"),
    [
        (
            {"anyOf": [{"format": "uuid", "type": "string"}, {"type": "null"}]},
            "string (uuid) or null",
        ),
        ({"enum": ["a", "b"], "type": "string"}, "one of `a`, `b`"),
        ({"type": "integer", "minimum": 0}, "integer >= 0"),
        ({"type": "string", "minLength": 1, "maxLength": 200}, "string, length 1-200"),
        (
            {"items": {"$ref": "#/$defs/MetricTotals"}, "type": "array"},
            "array of object `MetricTotals`",
        ),
    ],
)
def test_types_read_as_the_schema_says(prop: dict[str, object], text: str) -> None:
    assert eventdocs.type_of(prop) == text


def test_the_sources_the_page_names_are_the_producers_constants() -> None:
    from budget.events import SOURCE as budget_source
    from cost_ledger.events import SOURCE as ledger_source
    from evaluator.config import SOURCE as evaluator_source

    assert (evaluator_source, ledger_source, budget_source) == (
        "rex/evaluator",
        "rex/cost-ledger",
        "rex/budget",
    )


def test_a_call_event_is_keyed_and_identified_by_its_call_id() -> None:
    from rex_tracking import outgoing

    now = datetime.now(UTC)
    call = LlmCallCompleted(
        call_id=uuid4(), org_id="o", project_id="p", user_id="u", provider="openai",
        model="m", requested_model="m", api="chat.completions", started_at=now,
        completed_at=now, latency_ms=1, status="succeeded", usage=Usage(),
    )  # fmt: skip
    event = outgoing(call)
    assert event.key == event.id == str(call.call_id)
    assert eventdocs.WIRE[topics.LLM_CALL_COMPLETED] == ("`call_id`", "`call_id`")


def test_the_evaluation_completed_namespace_on_the_page_is_the_evaluators() -> None:
    from evaluator import events

    assert str(events.COMPLETED_NS) in eventdocs.WIRE[topics.EVALUATION_COMPLETED][1]


def test_the_dead_letter_headers_on_the_page_are_the_ones_sent() -> None:
    source = inspect.getsource(kafka.send_to_dlq)
    page = eventdocs.render()
    for header in ("dlq_reason", "dlq_source_topic", "dlq_source_partition",
                   "dlq_source_offset", "dlq_consumer"):  # fmt: skip
        assert f'"{header}"' in source
        assert f"| `{header}` |" in page
