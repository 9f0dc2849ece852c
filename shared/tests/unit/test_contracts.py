"""Contracts: snapshots match, money stays exact, parts never exceed wholes."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError
from rex_shared import asyncapi, cloudevents
from rex_shared.contracts import schema_of, snapshot_path
from rex_shared.events import ALL_EVENTS, CostComponents, LlmCallCompleted, Usage


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.__name__)
def test_committed_json_schema_matches_the_model(model: type) -> None:
    # A failure here means a contract changed: run `python -m rex_shared.contracts`,
    # check the change is additive, and commit the new snapshot with the code.
    assert snapshot_path(model).read_text() == schema_of(model)


def _call(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    data: dict[str, object] = {
        "call_id": str(uuid4()),
        "org_id": "o",
        "project_id": "p",
        "user_id": "u",
        "provider": "openai",
        "model": "gpt-4o-2024-08-06",
        "requested_model": "gpt-4o",
        "api": "chat.completions",
        "started_at": now,
        "completed_at": now,
        "latency_ms": 5,
        "status": "succeeded",
        "usage": {"input_tokens": 100, "cache_read_tokens": 20, "output_tokens": 10},
    }
    data.update(overrides)
    return data


def test_unknown_fields_are_ignored_so_producers_can_add_fields() -> None:
    event = LlmCallCompleted.model_validate(_call(brand_new_field=1))
    assert not hasattr(event, "brand_new_field")


def test_events_are_frozen() -> None:
    event = LlmCallCompleted.model_validate(_call())
    with pytest.raises(ValidationError):
        event.model = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "usage",
    [
        {"input_tokens": 10, "cache_read_tokens": 11},
        {"input_tokens": 10, "cache_read_tokens": 6, "cache_write_tokens": 5},
        {"input_tokens": 10, "cache_write_tokens": 2, "cache_write_1h_tokens": 3},
        {"output_tokens": 10, "reasoning_tokens": 11},
        {"input_tokens": -1},
    ],
)
def test_a_part_never_exceeds_its_whole(usage: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        Usage.model_validate(usage)


def test_uncached_input_excludes_cache_reads_and_writes() -> None:
    usage = Usage(input_tokens=1000, cache_read_tokens=300, cache_write_tokens=200)
    assert usage.uncached_input_tokens == 500


def test_money_is_a_decimal_string_in_json_and_floats_are_refused() -> None:
    cost = CostComponents(input=Decimal("0.00225"), total=Decimal("0.00725"))
    assert json.loads(cost.model_dump_json())["total"] == "0.00725"
    assert CostComponents.model_validate({"total": "0.1"}).total == Decimal("0.1")
    with pytest.raises(ValidationError):
        CostComponents.model_validate({"total": 0.1})


def test_cloudevent_round_trip_keeps_id_type_and_data() -> None:
    event = LlmCallCompleted.model_validate(_call())
    out = cloudevents.build(event, source="rex/test", event_id=str(event.call_id))
    headers = dict(out.headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"rex.llm.call.completed.v1"
    assert headers["content-type"] == b"application/json"
    incoming = cloudevents.parse(out.data, out.headers())
    assert incoming.id == str(event.call_id)
    assert cloudevents.decode(incoming, LlmCallCompleted) == event


def test_plain_json_without_headers_is_still_readable() -> None:
    data = _call()
    incoming = cloudevents.parse(json.dumps(data).encode(), None)
    assert incoming.id == data["call_id"]


@pytest.mark.parametrize("value", [b"", b"not json", b"[1, 2]", b"{}"])
def test_unreadable_values_are_poison(value: bytes) -> None:
    with pytest.raises(cloudevents.PoisonMessage):
        cloudevents.parse(value, None)


def test_an_invalid_event_is_poison_with_the_reason() -> None:
    incoming = cloudevents.parse(json.dumps(_call(status="maybe")).encode(), None)
    with pytest.raises(cloudevents.PoisonMessage, match="status"):
        cloudevents.decode(incoming, LlmCallCompleted)


@pytest.mark.parametrize("service", sorted(asyncapi.SERVICES))
def test_committed_asyncapi_document_matches_the_generated_one(service: str) -> None:
    # Regenerate with `make contracts` when a service starts consuming or producing an event.
    committed = json.loads((asyncapi.DOCS_DIR / f"{service}.json").read_text())
    assert committed == asyncapi.document(service)
    assert committed["asyncapi"] == "3.0.0"
