"""The load bench's gate: `short` unless every evaluation completed and the ledger holds
exactly what the provider served for it."""

import importlib
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from uuid import uuid4

import pytest
from rex_shared.events import Usage
from rexctl.served import Reconciliation, ServedCall

BENCH = Path(__file__).resolve().parents[3] / "bench"
pytestmark = pytest.mark.unit


def _bench(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


EXACT = Reconciliation(served=68, lost=(), duplicated=0, inexact=(), unserved=0)
CALL = ServedCall(uuid4(), uuid4(), "openai", "gpt-4o-mini", 200, Usage(), datetime.now(UTC))


@pytest.mark.parametrize(
    ("evaluations", "completed", "matched", "overall", "ok"),
    [
        (17, 17, 17, EXACT, True),
        (17, 16, 16, EXACT, False),  # one evaluation did not complete
        (17, 17, 16, EXACT, False),  # one evaluation's calls do not match the ledger
        (17, 17, 17, Reconciliation(68, (CALL,), 0, (), 0), False),  # a call lost
        (17, 17, 17, Reconciliation(68, (), 1, (), 0), False),  # a call twice
        (0, 0, 0, EXACT, False),  # nothing ran: nothing proven
    ],
)
def test_the_run_passes_only_when_all_completed_and_the_ledger_matches_the_provider(
    evaluations: int, completed: int, matched: int, overall: Reconciliation, ok: bool
) -> None:
    check = _bench("_served_check").RunCheck(evaluations, completed, matched, overall, 0)
    assert check.ok is ok


def test_the_bench_line_says_short_when_an_evaluation_did_not_complete(
    capsys: pytest.CaptureFixture[str],
) -> None:
    load = _bench("evaluator_load")
    check = _bench("_served_check").RunCheck(4, 3, 3, EXACT, 0)
    load._report_check(check, {"completed": 3, "running": 1})
    out = capsys.readouterr().out
    assert "| evaluations after the drain | completed 3 | running 1 |" in out
    assert "BENCH evaluator_load evaluations_completed_and_matched=75.0 % target=100 short" in out
