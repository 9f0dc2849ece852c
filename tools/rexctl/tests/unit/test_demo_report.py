"""The demo's report arithmetic: cache savings from the ledger's own price rows, and the
estimated-vs-actual difference."""

from decimal import Decimal
from typing import Any

from rexctl import demo


class FakeApi:
    """The one ledger read `_by_model` makes: the price rows for a model at a time."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def call(self, method: str, service: str, path: str, body: Any = None) -> Any:
        self.asked.append(path)
        rows = [
            {"id": "p-batch", "rates": {"input": "0.075", "cache_read": "0.0375"}},
            {"id": "p1", "rates": {"input": "2.5", "cache_read": "1.25"}},
        ]
        return {"items": rows}


def _call(cached: int, price_id: str = "p1") -> dict[str, Any]:
    return {
        "provider": "openai", "model": "gpt-4o-2024-08-06", "price_id": price_id,
        "occurred_at": "2026-11-26T08:00:00+00:00", "input_tokens": 2000,
        "cache_read_tokens": cached, "output_tokens": 100, "total_cost": "0.0041",
    }  # fmt: skip


def test_cache_savings_are_cached_tokens_times_the_rate_difference(capsys: Any) -> None:
    api = FakeApi()
    demo._by_model(api, [_call(1024), _call(0), _call(1024)])  # type: ignore[arg-type]
    out = capsys.readouterr().out
    # 2 x 1024 tokens x (2.5 - 1.25) $/M = 0.00256; the rate is looked up once per price row
    assert "0.002560" in out and "0.012300" in out
    assert len(api.asked) == 1 and "at=2026-11-26T08%3A00%3A00%2B00%3A00" in api.asked[0]


def test_no_cache_reads_claims_no_saving_and_asks_for_no_price(capsys: Any) -> None:
    api = FakeApi()
    demo._by_model(api, [_call(0)])  # type: ignore[arg-type]
    assert api.asked == [] and "No cache reads" in capsys.readouterr().out


def test_difference_is_relative_to_the_estimate() -> None:
    assert demo._diff(Decimal("0.004644"), Decimal("0.00462975")) == "-0.3 %"
    assert demo._diff(Decimal(0), Decimal(1)) == "-"
