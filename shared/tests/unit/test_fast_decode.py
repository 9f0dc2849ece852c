"""`fast_decode` gives what `standard_decode` gives: the same event, id and poison reasons."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from aiokafka.structs import ConsumerRecord
from rex_shared import cloudevents
from rex_shared.cloudevents import PoisonMessage
from rex_shared.consumer import fast_decode, standard_decode
from rex_shared.events import LlmCallCompleted, Usage


def _record(value: bytes | None, headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    return ConsumerRecord("t", 0, 0, 0, 0, None, value, None, 0, 0, headers)


def _event() -> LlmCallCompleted:
    now = datetime.now(UTC)
    return LlmCallCompleted(
        call_id=uuid4(), org_id="o", project_id="p", user_id="u", provider="openai",
        model="gpt-4o", requested_model="gpt-4o", api="chat.completions", started_at=now,
        completed_at=now, latency_ms=3, status="succeeded", usage=Usage(input_tokens=5),
    )  # fmt: skip


def test_a_good_record_decodes_to_the_same_event_and_id() -> None:
    out = cloudevents.build(_event(), source="test", event_id="evt-1")
    record = _record(out.data, [*out.headers(), ("ce_id", b"evt-2")])  # the last id wins
    fast, slow = fast_decode(record, LlmCallCompleted), standard_decode(record, LlmCallCompleted)
    assert (fast.event_id, fast.event) == (slow.event_id, slow.event) == ("evt-2", slow.event)


def test_a_record_without_ce_id_falls_back_to_the_data_id() -> None:
    event = _event()
    record = _record(event.model_dump_json().encode(), [])
    assert fast_decode(record, LlmCallCompleted).event_id == str(event.call_id)


@pytest.mark.parametrize(
    "value", [b"", b"{not json", b"[1, 2]", b'{"call_id": "x"}', b"\xff\xfe", None]
)
def test_poison_is_refused_with_the_standard_reason(value: bytes | None) -> None:
    record = _record(value, [("ce_id", b"evt-1")])
    with pytest.raises(PoisonMessage) as slow:
        standard_decode(record, LlmCallCompleted)
    with pytest.raises(PoisonMessage) as fast:
        fast_decode(record, LlmCallCompleted)
    assert str(fast.value) == str(slow.value)
