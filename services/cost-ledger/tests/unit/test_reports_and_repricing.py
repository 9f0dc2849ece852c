"""Pure pieces of issue 4: periods, latency percentiles, the 100x guard, repricing."""

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import uuid4, uuid5

import pytest
from cost_ledger.config import Settings
from cost_ledger.domain import periods
from cost_ledger.domain.admin_prices import NewPrice, catalog_row, unusual_rates
from cost_ledger.domain.aggregates import histogram, latency_bucket, percentile_ms
from cost_ledger.domain.catalog import seed_rows
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.domain.pricing import Rates
from cost_ledger.domain.repricing import Recorded, reprice
from cost_ledger.entrypoints.http.report_views import _csv_cell
from cost_ledger.events import adjustment_event
from rex_shared.events import REX_NAMESPACE, CostComponents, LlmCostRecorded, Usage

BOOK = PriceBook(seed_rows(), ModelResolver())
TODAY = date(2025, 11, 19)  # a Wednesday


@pytest.mark.parametrize(
    ("period", "start", "end", "expected"),
    [
        ("day", None, None, (date(2025, 11, 19), date(2025, 11, 20))),
        ("week", None, None, (date(2025, 11, 17), date(2025, 11, 24))),
        ("month", None, None, (date(2025, 11, 1), date(2025, 12, 1))),
        ("quarter", None, None, (date(2025, 10, 1), date(2026, 1, 1))),
        ("year", None, None, (date(2025, 1, 1), date(2026, 1, 1))),
        ("month", date(2025, 12, 15), None, (date(2025, 12, 1), date(2026, 1, 1))),
        ("month", None, date(2025, 3, 1), (date(2025, 2, 1), date(2025, 3, 1))),
        ("quarter", date(2025, 2, 3), None, (date(2025, 1, 1), date(2025, 4, 1))),
        ("day", date(2025, 1, 5), date(2025, 2, 5), (date(2025, 1, 5), date(2025, 2, 5))),
    ],
)
def test_a_summary_window_is_the_period_asked_for(
    period: periods.Period,
    start: date | None,
    end: date | None,
    expected: tuple[date, date],
) -> None:
    assert periods.window(period, start, end, today=TODAY) == expected


@pytest.mark.parametrize(
    ("latencies", "q", "low", "high"),
    [
        ([100] * 100, 0.95, 100, 100),  # capped by the largest latency seen
        (list(range(1, 1001)), 0.95, 950, 998),  # within 5% above the true p95
        (list(range(1, 1001)), 0.5, 500, 525),
        ([5, 5, 5, 60_000], 0.95, 60_000, 60_000),
    ],
)
def test_percentiles_from_the_histogram_are_within_five_percent_above(
    latencies: list[int], q: float, low: int, high: int
) -> None:
    counts: dict[str, int] = {}
    for ms in latencies:
        counts[str(latency_bucket(ms))] = counts.get(str(latency_bucket(ms)), 0) + 1
    got = percentile_ms(histogram(counts), q, largest=max(latencies))
    assert got is not None and low <= got <= high


def test_an_empty_histogram_has_no_percentile() -> None:
    assert percentile_ms(histogram("{}"), 0.95, largest=None) is None


@pytest.mark.parametrize(
    ("given", "odd"),
    [
        (Rates(input=Decimal("2.5"), output=Decimal("10")), []),
        (Rates(input=Decimal("250"), output=Decimal("1000")), []),  # exactly 100x is allowed
        (Rates(input=Decimal("250.01")), ["input"]),
        (Rates(input=Decimal("0.0000025")), ["input"]),  # per token typed as per million
        (Rates(input=Decimal("0.025"), output=Decimal("0")), ["output"]),
        (Rates(lc_input=Decimal("1")), []),  # no reference rate: nothing to compare
    ],
)
def test_rates_more_than_100x_off_the_reference_are_unusual(given: Rates, odd: list[str]) -> None:
    reference = Rates(input=Decimal("2.5"), output=Decimal("10"))
    assert [u.rate for u in unusual_rates(given, reference)] == odd


def test_an_admin_price_row_has_a_deterministic_id_and_is_open_ended() -> None:
    at = datetime(2025, 7, 1, tzinfo=UTC)
    new = NewPrice("openai", "gpt-4o", "gpt-4o", "priority", True, at, Rates(input=Decimal(1)),
                   "acme")  # fmt: skip
    row = catalog_row(new)
    assert row.id == "admin:acme:openai:gpt-4o:2025-07-01T00:00:00+00:00:priority:batch"
    assert (row.effective_to, row.source, row.org_id) == (None, "admin", "acme")


def test_a_later_price_supersedes_an_open_ended_one_from_its_date() -> None:
    start, later = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)
    rows = [catalog_row(NewPrice("openai", "m", "m", "default", False, at, Rates(input=rate),
                                 "acme"))
            for at, rate in ((start, Decimal(1)), (later, Decimal(2)))]  # fmt: skip
    book = PriceBook(rows, ModelResolver([]))
    found = [
        book.row_for("openai", "m", at=d, tier="default", batch=False, org_id="acme")
        for d in (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 9, 1, tzinfo=UTC))
    ]
    assert [r.rates.input if r else None for r in found] == [Decimal(1), Decimal(2)]


def _recorded(model: str, cost: Decimal, status: str = "unpriced") -> Recorded:
    return Recorded(
        call_id=uuid4(), org_id="acme", project_id="p", user_id="u", evaluation_id=None,
        metric=None, provider="openai", model=model, call_status="succeeded",
        service_tier="default", batch=False, usage=Usage(input_tokens=1_000_000),
        occurred_at=datetime(2025, 3, 1, tzinfo=UTC), status=status,  # type: ignore[arg-type]
        price_id=None, cost=CostComponents(input=cost, total=cost), last_seq=0,
    )  # fmt: skip


def test_repricing_an_unpriced_call_adds_the_whole_cost_as_a_delta() -> None:
    now = datetime(2025, 12, 1, tzinfo=UTC)
    adj = reprice(_recorded("gpt-4o-2024-08-06", Decimal(0)), BOOK, now=now)
    assert adj is not None
    assert (adj.seq, adj.delta.total, adj.new_cost.total, adj.unpriced_delta) == (
        1, Decimal("2.5"), Decimal("2.5"), -1)  # fmt: skip
    assert adj.adjustment_id == uuid5(REX_NAMESPACE, f"adjust:{adj.of.call_id}:1")
    event = adjustment_event(adj)
    data = LlmCostRecorded.model_validate_json(event.data)
    assert (data.entry_kind, data.adjusts_call_id, data.cost.total) == (
        "adjustment", adj.of.call_id, Decimal("2.5"))  # fmt: skip
    assert data.usage == Usage() and event.id == str(
        uuid5(REX_NAMESPACE, f"adjust:{adj.adjustment_id}")
    )


def test_repricing_changes_nothing_for_unknown_models_or_unchanged_costs() -> None:
    now = datetime(2025, 12, 1, tzinfo=UTC)
    assert reprice(_recorded("no-such-model", Decimal(0)), BOOK, now=now) is None
    same = _recorded("gpt-4o-2024-08-06", Decimal("2.5"), status="priced")
    assert reprice(same, BOOK, now=now) is None
    wrong = _recorded("gpt-4o-2024-08-06", Decimal("3"), status="priced")
    adj = reprice(wrong, BOOK, now=now)
    assert adj is not None and adj.delta.total == Decimal("-0.5") and adj.unpriced_delta == 0


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell(Decimal("-0.5")) == "-0.5"  # a credit stays a number
    assert _csv_cell(None) == ""


def test_production_turns_https_and_security_headers_on_by_default() -> None:
    prod = Settings(env="production", database_url="postgresql://x@db/rex",
                    jwt_secret="s" * 40)  # type: ignore[arg-type]  # fmt: skip
    local = Settings(database_url="postgresql://x@db/rex")
    assert (prod.https_only(), prod.send_security_headers()) == (True, True)
    assert (local.https_only(), local.send_security_headers()) == (False, False)
