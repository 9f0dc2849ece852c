"""The count of served calls: billable ones apart from faults, per evaluation, thread safe."""

import threading

from llm_sim.served import ServedCall, ServedLog, Tokens


def _call(evaluation: str | None, status: int = 200, tokens: Tokens | None = None) -> ServedCall:
    return ServedCall(
        call_id="c",
        evaluation_id=evaluation,
        provider="openai",
        api="chat.completions",
        model="gpt-4o-mini-2024-07-18",
        streamed=False,
        status=status,
        tokens=tokens or Tokens(),
        answered_at="2025-01-01T00:00:00+00:00",
    )


def test_billable_calls_are_summed_and_faults_counted_apart_per_status() -> None:
    log = ServedLog()
    log.add(_call("e1", tokens=Tokens(input_tokens=100, cache_read_tokens=40, output_tokens=9)))
    log.add(_call("e1", tokens=Tokens(input_tokens=50, output_tokens=7, reasoning_tokens=3)))
    log.add(_call("e1", status=429))
    log.add(_call("e1", status=429))
    log.add(_call("e1", status=503))
    report = log.report()
    assert report["billable"] == {
        "calls": 2,
        "input_tokens": 150,
        "cache_read_tokens": 40,
        "cache_write_tokens": 0,
        "cache_write_1h_tokens": 0,
        "output_tokens": 16,
        "reasoning_tokens": 3,
    }
    assert report["faulted"] == {"calls": 3, "by_status": {"429": 2, "503": 1}}
    assert [c["billable"] for c in report["calls"]] == [True, True, False, False, False]
    assert report["calls"][0]["input_tokens"] == 100 and "tokens" not in report["calls"][0]


def test_one_evaluation_is_reported_alone_and_reset_forgets_everything() -> None:
    log = ServedLog()
    log.add(_call("e1", tokens=Tokens(input_tokens=10)))
    log.add(_call("e2", tokens=Tokens(input_tokens=20)))
    log.add(_call(None, tokens=Tokens(input_tokens=30)))
    assert log.report("e2")["billable"]["input_tokens"] == 20
    assert log.report("e2")["evaluation_id"] == "e2"
    assert log.report("nobody")["billable"]["calls"] == 0
    assert log.report()["billable"]["input_tokens"] == 60
    log.reset()
    assert log.report()["billable"]["calls"] == 0 and log.calls() == []


def test_beyond_capacity_calls_are_dropped_and_said_to_be() -> None:
    log = ServedLog(capacity=2)
    for _ in range(5):
        log.add(_call("e1"))
    assert len(log.calls()) == 2
    assert log.report()["dropped"] == 3
    log.reset()
    assert log.report()["dropped"] == 0


def test_calls_added_from_many_threads_are_all_counted() -> None:
    log = ServedLog()

    def add_many() -> None:
        for _ in range(2000):
            log.add(_call("e1", tokens=Tokens(output_tokens=1)))

    threads = [threading.Thread(target=add_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    billable = log.report("e1")["billable"]
    assert billable["calls"] == billable["output_tokens"] == 16000
