"""The ledger held to the provider's count: lost, duplicated and inexact calls are found."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from rex_shared.events import Usage
from rexctl.oracle import independent_cost
from rexctl.served import Served, ServedCall, reconcile

AT = datetime(2026, 11, 1, tzinfo=UTC)
EVALUATION = uuid4()
USAGE = Usage(input_tokens=1000, cache_read_tokens=256, output_tokens=120)


def _call(call_id: UUID | None = None, status: int = 200, usage: Usage = USAGE) -> ServedCall:
    return ServedCall(
        call_id=call_id or uuid4(),
        evaluation_id=EVALUATION,
        provider="openai",
        model="gpt-4o-mini-2024-07-18",
        status=status,
        usage=usage if status == 200 else Usage(),
        answered_at=AT,
    )


def _priced(*calls: ServedCall) -> dict[UUID, list[Decimal]]:
    return {c.call_id: [c.cost] for c in calls if c.call_id is not None}


def test_a_ledger_with_every_billable_call_once_at_its_cost_is_exact() -> None:
    calls = [_call() for _ in range(3)]
    faulted = _call(calls[0].call_id, status=429)  # refused, then answered: one bill
    ledger = _priced(*calls)
    report = reconcile(Served((faulted, *calls)), ledger)
    assert report.exact and report.served == 3
    assert calls[0].cost == independent_cost("openai", "gpt-4o-mini-2024-07-18", USAGE, AT) > 0
    assert faulted.cost == 0


def test_a_served_call_missing_from_the_ledger_is_lost() -> None:
    calls = [_call() for _ in range(3)]
    report = reconcile(Served(tuple(calls)), _priced(calls[0], calls[2]))
    assert report.lost == (calls[1],) and not report.exact
    assert (report.duplicated, report.inexact, report.unserved) == (0, (), 0)


def test_a_call_billed_twice_or_recorded_twice_is_duplicated() -> None:
    once, twice = _call(), _call()
    again = _call(twice.call_id)
    ledger = _priced(once, twice)
    assert reconcile(Served((once, twice, again)), ledger).duplicated == 1
    assert once.call_id is not None
    ledger[once.call_id] = ledger[once.call_id] * 2
    report = reconcile(Served((once, twice)), ledger)
    assert report.duplicated == 1 and not report.lost and not report.exact


def test_a_call_at_another_cost_is_inexact_and_an_unbilled_entry_unserved() -> None:
    call = _call()
    assert call.call_id is not None
    ledger = {call.call_id: [call.cost + Decimal("0.000000001")], uuid4(): [Decimal("0.01")]}
    report = reconcile(Served((call,)), ledger)
    assert report.inexact == (call,) and report.unserved == 1 and not report.lost
    free = {call.call_id: [call.cost], uuid4(): [Decimal(0)]}  # a failed call costs nothing
    assert reconcile(Served((call,)), free).exact


def test_an_unnamed_call_cannot_be_matched_and_a_short_count_is_not_exact() -> None:
    unnamed = ServedCall(None, None, "openai", "gpt-4o-mini", 200, USAGE, AT)
    assert reconcile(Served((unnamed,)), {}).lost == (unnamed,)
    call = _call()
    assert not reconcile(Served((call,), dropped=1), _priced(call)).exact


def test_the_simulators_json_is_read_into_a_served_call() -> None:
    call_id = uuid4()
    body = {
        "call_id": str(call_id), "evaluation_id": str(EVALUATION), "provider": "anthropic",
        "api": "messages", "model": "claude-sonnet-4-6", "streamed": True, "status": 200,
        "input_tokens": 2000, "cache_read_tokens": 0, "cache_write_tokens": 1500,
        "cache_write_1h_tokens": 0, "output_tokens": 90, "reasoning_tokens": 30,
        "answered_at": "2026-11-01T00:00:00+00:00", "billable": True,
    }  # fmt: skip
    call = ServedCall.from_json(body)
    assert (call.call_id, call.evaluation_id, call.answered_at) == (call_id, EVALUATION, AT)
    assert call.usage == Usage(
        input_tokens=2000, cache_write_tokens=1500, output_tokens=90, reasoning_tokens=30
    )
    assert call.billable and call.streamed
    assert Served((call,)).of([EVALUATION]).calls == (call,)
    assert Served((call,)).of([uuid4()]).calls == ()


def test_lost_calls_answered_around_a_crash_are_told_apart() -> None:
    near = ServedCall(uuid4(), EVALUATION, "openai", "gpt-4o-mini", 200, USAGE, AT)
    crash = AT + timedelta(seconds=0.5)
    early = ServedCall(
        uuid4(), EVALUATION, "openai", "gpt-4o-mini", 200, USAGE, AT - timedelta(seconds=5)
    )
    report = reconcile(Served((early, near)), {})
    assert report.split_lost(crash, 1.0) == ((early,), (near,))
    assert report.split_lost(None, 1.0) == ((early, near), ())
