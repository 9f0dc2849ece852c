"""What the ledger publishes: `llm.cost.recorded` for each new ledger row and each adjustment.

The outbox rows of a batch are written by one SQL statement (adapters/ledger_sql.py) from the
payloads built here.
"""

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from uuid import UUID

from rex_shared import cloudevents
from rex_shared.cloudevents import OutgoingEvent
from rex_shared.events import REX_NAMESPACE, LlmCostRecorded, Usage

from cost_ledger.domain.ledger import LedgerEntry
from cost_ledger.domain.repricing import Adjustment

SOURCE = "rex/cost-ledger"
_NS_COST = REX_NAMESPACE.bytes + b"cost:"


def cost_event_id(call_id: UUID) -> str:
    """The deterministic id of a call's `llm.cost.recorded` (a re-send keeps it):
    uuid5(REX_NAMESPACE, "cost:" + call_id), computed without building UUID objects (this runs
    once per ingested call; a unit test compares it with `uuid.uuid5`)."""
    digest = hashlib.sha1(_NS_COST + str(call_id).encode()).digest()
    h = digest[:6].hex() + f"{(digest[6] & 0x0F) | 0x50:02x}" + digest[7:8].hex()
    h += f"{(digest[8] & 0x3F) | 0x80:02x}" + digest[9:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def cost_data(entry: LedgerEntry) -> LlmCostRecorded:
    """The `llm.cost.recorded` data of a new ledger row.

    Built without re-validation (`model_construct`): every part is already a validated model
    or value, and this runs once per ingested call. A unit test compares it with the validated
    model.
    """
    call = entry.call
    return LlmCostRecorded.model_construct(
        call_id=call.call_id, evaluation_id=call.evaluation_id, metric=call.metric,
        org_id=call.org_id, project_id=call.project_id, user_id=call.user_id,
        provider=call.provider, model=call.model, status=entry.status, call_status=call.status,
        usage=call.usage, cost=entry.cost, price_id=entry.price_id,
        occurred_at=call.completed_at, recorded_at=entry.recorded_at,
    )  # fmt: skip


class _Slow(Exception):
    """A value the hand-written encoder does not format exactly like pydantic."""


_ZERO_OFFSET = timedelta(0)


def _json_time(at: datetime) -> str:
    offset = at.utcoffset()
    if offset is None:
        return f'"{at.isoformat()}"'
    if offset == _ZERO_OFFSET:  # pydantic writes UTC as `Z`
        return f'"{at.replace(tzinfo=None).isoformat()}Z"'
    raise _Slow


def _json_str(value: str | None) -> str:
    return "null" if value is None else str(encode_basestring(value))


def _json_uuid(value: UUID | None) -> str:
    return "null" if value is None else f'"{value}"'


def cost_payloads(entries: Sequence[LedgerEntry]) -> list[bytes]:
    """`cost_data(e).model_dump_json()` of each entry as bytes, written directly: the same JSON
    (a unit test compares them byte for byte), a few times cheaper; anything unusual (a non-UTC
    offset, a string that is not valid UTF-8) takes pydantic's path."""
    times: dict[datetime, str] = {}  # recorded_at is one instant for a whole batch
    out = []
    for entry in entries:
        try:
            at = times.get(entry.recorded_at)
            if at is None:
                at = times[entry.recorded_at] = _json_time(entry.recorded_at)
            out.append(_payload(entry, at))
        except (_Slow, UnicodeEncodeError):
            out.append(cost_data(entry).model_dump_json().encode())
    return out


def _payload(entry: LedgerEntry, recorded_at: str) -> bytes:
    call, u, c, s = entry.call, entry.call.usage, entry.cost, encode_basestring
    # status and call_status are Literal values (plain ASCII words): no escaping needed.
    return (
        f'{{"call_id":"{call.call_id}","evaluation_id":{_json_uuid(call.evaluation_id)},'
        f'"metric":{_json_str(call.metric)},"org_id":{s(call.org_id)},'
        f'"project_id":{s(call.project_id)},"user_id":{s(call.user_id)},'
        f'"provider":{s(call.provider)},"model":{s(call.model)},'
        f'"status":"{entry.status}","call_status":"{call.status}",'
        f'"usage":{{"input_tokens":{u.input_tokens:d},'
        f'"cache_read_tokens":{u.cache_read_tokens:d},'
        f'"cache_write_tokens":{u.cache_write_tokens:d},'
        f'"cache_write_1h_tokens":{u.cache_write_1h_tokens:d},'
        f'"output_tokens":{u.output_tokens:d},"reasoning_tokens":{u.reasoning_tokens:d},'
        f'"input_audio_tokens":{u.input_audio_tokens:d},'
        f'"output_audio_tokens":{u.output_audio_tokens:d},'
        f'"web_search_requests":{u.web_search_requests:d}}},'
        f'"cost":{{"input":"{c.input:f}","cache_read":"{c.cache_read:f}",'
        f'"cache_write":"{c.cache_write:f}","output":"{c.output:f}",'
        f'"input_audio":"{c.input_audio:f}","output_audio":"{c.output_audio:f}",'
        f'"web_search":"{c.web_search:f}","total":"{c.total:f}"}},'
        f'"currency":"USD","price_id":{_json_str(entry.price_id)},'
        f'"occurred_at":{_json_time(call.completed_at)},"recorded_at":{recorded_at},'
        '"entry_kind":"charge","adjusts_call_id":null,"adjustment_id":null}'
    ).encode()


def cost_recorded(entry: LedgerEntry) -> OutgoingEvent:
    """The `llm.cost.recorded` CloudEvent for a new ledger row, keyed by the paying org."""
    return cloudevents.build(
        cost_data(entry), source=SOURCE, event_id=cost_event_id(entry.call_id),
        key=entry.call.org_id, time=entry.recorded_at,
    )  # fmt: skip


def adjustment_event(adj: Adjustment) -> OutgoingEvent:
    """`llm.cost.recorded` for an adjustment: cost is the DELTA, usage zero (already counted)."""
    call = adj.of
    data = LlmCostRecorded(
        call_id=call.call_id, evaluation_id=call.evaluation_id, metric=call.metric,
        org_id=call.org_id, project_id=call.project_id, user_id=call.user_id,
        provider=call.provider, model=call.model, status="priced", call_status=call.call_status,
        usage=Usage(), cost=adj.delta, price_id=adj.price_id, occurred_at=call.occurred_at,
        recorded_at=adj.recorded_at, entry_kind="adjustment", adjusts_call_id=call.call_id,
        adjustment_id=adj.adjustment_id,
    )  # fmt: skip
    return cloudevents.build(
        data, source=SOURCE, event_id=adj.event_id, key=call.org_id, time=adj.recorded_at
    )
