"""The refusals of the report and price use cases: the codes and messages clients match on."""

from datetime import UTC, date, datetime

import pytest
from cost_ledger.domain import periods
from cost_ledger.domain.catalog import seed_rows
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.handlers import prices, reports
from rex_shared.errors import DomainError, Forbidden, Invalid

BOOK = PriceBook(seed_rows(), ModelResolver())
AT = datetime(2025, 7, 1, tzinfo=UTC)
TODAY = date(2025, 7, 1)


def _refusal(error: DomainError) -> tuple[str, str, str]:
    return error.kind, error.code, error.message


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2025, 7, 2), date(2025, 7, 1), "`to` must be after `from`"),
        (date(2015, 1, 1), date(2025, 1, 1), f"at most {periods.MAX_DAYS} days at once"),
    ],
)
def test_a_report_window_is_refused_past_its_limits(start: date, end: date, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        reports.window("day", start, end, TODAY)
    assert _refusal(refused.value) == ("invalid", "VALIDATION_ERROR", message)


def test_a_daily_report_covers_at_most_a_year() -> None:
    with pytest.raises(Invalid) as refused:
        reports.daily_window(date(2024, 1, 1), date(2025, 1, 3), TODAY)
    assert _refusal(refused.value) == ("invalid", "VALIDATION_ERROR", "at most 366 days at once")
    assert reports.daily_window(None, None, TODAY) == (date(2025, 6, 2), date(2025, 7, 2))


def test_a_member_sees_only_their_own_costs() -> None:
    assert reports.own_user(None, caller="me", only_own=True) == "me"
    assert reports.own_user("other", caller="me", only_own=False) == "other"
    with pytest.raises(Forbidden) as refused:
        reports.own_user("other", caller="me", only_own=True)
    assert _refusal(refused.value) == ("forbidden", "FORBIDDEN", "members see only their own costs")


def test_a_json_page_holds_at_most_a_thousand_rows_a_csv_export_more() -> None:
    assert reports.page_size(None, as_csv=False) == 100
    assert reports.page_size(None, as_csv=True) == 10_000
    assert reports.page_size(5000, as_csv=True) == 5000
    with pytest.raises(Invalid) as refused:
        reports.page_size(1001, as_csv=False)
    assert refused.value.message == "limit is at most 1000 (CSV: 100000)"


def test_a_price_list_by_model_needs_its_provider_and_pages_by_id() -> None:
    with pytest.raises(Invalid) as refused:
        prices.price_page(BOOK, org_id="o", provider=None, model="gpt-4o", at=AT, limit=5,
                          cursor=None)  # fmt: skip
    assert refused.value.message == "provider is required with model"
    unknown = prices.price_page(BOOK, org_id="o", provider="openai", model="no-such-model",
                                at=AT, limit=5, cursor=None)  # fmt: skip
    assert unknown == prices.PricePage(None, [], None)
    first = prices.price_page(BOOK, org_id="o", provider="openai", model=None, at=AT, limit=2,
                              cursor=None)  # fmt: skip
    assert len(first.rows) == 2 and first.next_cursor == first.rows[-1].id
    after = prices.price_page(BOOK, org_id="o", provider="openai", model=None, at=AT, limit=2,
                              cursor=first.next_cursor)  # fmt: skip
    assert after.rows[0].id > first.rows[-1].id
