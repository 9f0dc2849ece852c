"""The documented reply shapes (entrypoints/http/replies.py, report_replies.py) are exactly
what the views build.

Each view's output for sample data must (1) be JSON already (no Decimal, UUID or datetime left
for an encoder to guess), (2) validate strictly against its model and dump back to the very
same JSON (so a field added to a reply without its model fails here), and (3) validate against
the OpenAPI document the app serves, patterns and formats included.
"""

import json
import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from cost_ledger.adapters.costs_repo import EvaluationCosts
from cost_ledger.bootstrap import create_app
from cost_ledger.config import Settings
from cost_ledger.domain.admin_prices import NewPrice, catalog_row
from cost_ledger.domain.aggregates import COST_COLUMNS, TOKEN_FIELDS
from cost_ledger.domain.catalog import seed_rows
from cost_ledger.domain.models import ModelResolver
from cost_ledger.domain.pricebook import PriceBook
from cost_ledger.domain.pricing import Rates
from cost_ledger.domain.repricing import Recorded, reprice
from cost_ledger.entrypoints.http import replies, report_replies, report_views, views
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from pydantic import BaseModel
from rex_shared.events import CostComponents, Usage

BOOK = PriceBook(seed_rows(), ModelResolver())
AT = datetime(2025, 7, 1, 12, 30, 5, 123456, tzinfo=UTC)
SETTINGS = {"database_url": "postgresql://x@y/z", "jwt_secret": secrets.token_urlsafe(48)}
SPEC = create_app(Settings(**SETTINGS)).openapi()  # nothing connects until the lifespan runs
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def _documented(method: str, path: str, status: str = "200") -> dict[str, Any]:
    reply = SPEC["paths"][path][method]["responses"][status]["content"]["application/json"]
    schema: dict[str, Any] = reply["schema"]
    return schema


def assert_documents(model: type[BaseModel], data: Any, method: str, path: str,
                     status: str = "200") -> None:  # fmt: skip
    text = json.dumps(data)  # raises on any value that is not JSON yet
    parsed = model.model_validate_json(text, strict=True)
    assert json.loads(parsed.model_dump_json(by_alias=True)) == data  # nothing undocumented
    envelope = {**_documented(method, path, status), "components": SPEC["components"]}
    Draft202012Validator(envelope, format_checker=FORMATS).validate({"success": True, "data": data})
    assert envelope["$ref"].endswith(f"/Envelope_{model.__name__}_")


def _sums(n: int, **more: Any) -> dict[str, Any]:
    costs = {c: Decimal(n) / 7 for c in COST_COLUMNS}
    costs["total_cost"] = sum(costs.values(), Decimal(0))
    counts = {"calls": 3 * n, "failed_calls": n, "unpriced_calls": 0}
    return {**counts, **dict.fromkeys(TOKEN_FIELDS, 1000 * n), **costs, **more}


def _metric(metric: str, calls: int) -> dict[str, Any]:
    rec = _sums(calls, metric=metric, latency_ms_sum=1234 * calls)
    rec.update(calls=calls, failed_calls=min(calls, 1), latency_hist=json.dumps({"140": calls}),
               max_latency_ms=1300 if calls else None, first_call_at=AT if calls else None,
               last_call_at=AT if calls else None)  # fmt: skip
    return rec


@pytest.mark.parametrize("qa_rows", [0, 5])
def test_evaluation_costs_are_documented(qa_rows: int) -> None:
    totals = {**_sums(2), "evaluation_id": uuid4(), "project_id": "p", "user_id": "u",
              "qa_rows": qa_rows, "first_call_at": AT, "last_call_at": AT}  # fmt: skip
    found = EvaluationCosts(totals, [_metric("", 2), _metric("faithfulness", 4)])  # type: ignore[arg-type]
    data = views.evaluation(found)
    assert data["metrics"][0]["metric"] is None
    assert_documents(replies.EvaluationCostsOut, data, "get",
                     "/api/v1/costs/evaluations/{evaluation_id}")  # fmt: skip


@pytest.mark.parametrize(
    ("model", "tier", "batch"),
    [("gpt-4o-2024-08-06", None, False), ("gpt-4o", None, True), ("claude-sonnet-4-5", "", False)],
)
def test_estimates_are_documented(model: str, tier: str | None, batch: bool) -> None:
    provider = "anthropic" if model.startswith("claude") else "openai"
    usage = Usage(input_tokens=300_000, cache_read_tokens=1000, output_tokens=2000)
    quote = BOOK.quote(usage, provider=provider, model=model, at=AT, service_tier=tier,
                       batch=batch)  # fmt: skip
    assert quote.row is not None  # an unpriced estimate is a 422, never this reply
    assert_documents(replies.EstimateOut, views.estimate(quote), "post", "/api/v1/costs/estimate")


def _bucket(day: date, key: str | None, n: int) -> dict[str, Any]:
    return {**_sums(n), "bucket": day, "key": key}


@pytest.mark.parametrize("group_by", [None, "metric", "model"])
def test_summaries_are_documented(group_by: str | None) -> None:
    days = [_bucket(date(2025, 7, d), None, d) for d in (1, 2, 5)]
    groups = [_bucket(date(2025, 7, 1), k, n) for k, n in (("", 1), ("a", 3))] if group_by else []
    data = report_views.summary(groups, days, period="month", first=date(2025, 7, 1),
                                after=date(2025, 8, 1), group_by=group_by)  # fmt: skip
    assert_documents(report_replies.SummaryOut, data, "get", "/api/v1/costs/summary")


@pytest.mark.parametrize("group_by", [None, "project"])
def test_daily_rollups_are_documented(group_by: str | None) -> None:
    key = "p1" if group_by else None
    rows = [_bucket(date(2025, 7, d), key, d) for d in (1, 2)]
    data = report_views.daily(rows, first=date(2025, 6, 1), after=date(2025, 7, 3),
                              group_by=group_by)  # fmt: skip
    assert_documents(report_replies.DailyOut, data, "get", "/api/v1/costs/daily")


def _ledger_row(seq: int) -> dict[str, Any]:
    adjustment = seq > 0
    return {
        **{k: v for k, v in _sums(1).items() if "calls" not in k}, "call_id": uuid4(),
        "seq": seq, "event_id": "e",
        "entry_kind": "adjustment" if adjustment else "charge",
        "adjustment_id": uuid4() if adjustment else None, "org_id": "o",
        "evaluation_id": None if adjustment else uuid4(), "metric": None if adjustment else "m",
        "row_index": None if adjustment else 7, "project_id": "p", "user_id": "u",
        "provider": "openai", "model": "gpt-4o-2024-08-06",
        "model_id": "gpt-4o" if adjustment else None, "requested_model": "gpt-4o",
        "api": "chat", "call_status": "failed" if adjustment else "succeeded",
        "status": "priced" if adjustment else "unpriced", "price_id": "p1" if adjustment else None,
        "service_tier": "default", "batch": adjustment, "currency": "USD", "started_at": AT,
        "occurred_at": AT, "recorded_at": AT, "latency_ms": 812,
        "error": "timeout" if adjustment else None, "note": "repriced" if adjustment else None,
        "provider_request_id": None, "raw_usage": None,
    }  # fmt: skip


def test_ledger_rows_are_documented() -> None:
    rows = [_ledger_row(0), _ledger_row(1)]
    rows[1]["total_cost"] = Decimal("-0.000125")  # an adjustment can lower the cost
    for nxt in (None, "cursor"):
        data = report_views.calls_page(rows, nxt)
        assert_documents(report_replies.CallsPageOut, data, "get", "/api/v1/costs/calls")


def test_the_ledger_csv_is_documented_as_csv() -> None:
    content = SPEC["paths"]["/api/v1/costs/calls"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv"}


def test_price_pages_are_documented() -> None:
    rows = BOOK.rows(at=None, provider="anthropic")
    assert any(r.rates.long_context_threshold for r in rows)  # both kinds of rates covered
    assert any(r.effective_to for r in rows) and any(r.effective_to is None for r in rows)
    for model_id, page, nxt in (("claude", rows[:50], rows[49].id), (None, [], None)):
        data = views.pricing_page(model_id, page, nxt)
        assert_documents(replies.PricingPageOut, data, "get", "/api/v1/costs/pricing")


@pytest.mark.parametrize("reference", [None, "genai:openai:gpt-4o:x"])
def test_an_added_price_is_documented(reference: str | None) -> None:
    rates = Rates(input=Decimal("2.5"), output=Decimal("1e-7"))  # 1e-7 must read 0.0000001
    row = catalog_row(NewPrice("openai", "gpt-4o", "gpt-4o", "flex", True, AT, rates, "acme"))
    unusual = ["output"] if reference else []
    data = views.price_added(row, reference, unusual)
    assert_documents(replies.PriceAddedOut, data, "post", "/api/v1/costs/pricing", "201")


def _recorded(model: str, cost: str, status: str) -> Recorded:
    return Recorded(
        call_id=uuid4(), org_id="acme", project_id="p", user_id="u", evaluation_id=None,
        metric=None, provider="openai", model=model, call_status="succeeded",
        service_tier="default", batch=False, usage=Usage(input_tokens=1_000_000),
        occurred_at=datetime(2025, 3, 1, tzinfo=UTC), status=status,  # type: ignore[arg-type]
        price_id=None if status == "unpriced" else "old", last_seq=0,
        cost=CostComponents(input=Decimal(cost), total=Decimal(cost)),
    )  # fmt: skip


@pytest.mark.parametrize("dry_run", [True, False])
def test_reprice_reports_are_documented(dry_run: bool) -> None:
    calls = [_recorded("gpt-4o-2024-08-06", "0", "unpriced"),
             _recorded("gpt-4o-2024-08-06", "3", "priced"),
             _recorded("gpt-4o-mini", "0", "priced")]  # fmt: skip
    found = [a for c in calls if (a := reprice(c, BOOK, now=AT)) is not None]
    assert len(found) == 3
    for nxt, adjustments in ((None, found), ("c", [])):
        data = report_views.reprice_report(adjustments, examined=4, dry_run=dry_run,
                                           next_cursor=nxt)  # fmt: skip
        assert_documents(replies.RepriceOut, data, "post", "/api/v1/costs/reprice")


def test_every_json_reply_under_api_v1_is_documented() -> None:
    for path, item in SPEC["paths"].items():
        for method, op in item.items() if path.startswith("/api/v1") else ():
            ok = [r for s, r in op["responses"].items() if s.startswith("2")]
            assert len(ok) == 1, (method, path)
            ref = ok[0]["content"]["application/json"]["schema"]["$ref"]
            assert ref.startswith("#/components/schemas/Envelope_"), (method, path)


def test_a_reply_with_a_field_its_model_lacks_fails() -> None:
    data = {**views.price_added(BOOK.rows(at=AT)[0], None, []), "surprise": 1}
    with pytest.raises(AssertionError):
        assert_documents(replies.PriceAddedOut, data, "post", "/api/v1/costs/pricing", "201")


def test_a_reply_with_money_as_a_number_fails() -> None:
    data = views.price_added(BOOK.rows(at=AT)[0], None, [])
    bad = {**data, "rates": {**data["rates"], "input": 2.5}}
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
        assert_documents(replies.PriceAddedOut, bad, "post", "/api/v1/costs/pricing", "201")


def test_a_reply_with_a_time_without_offset_fails() -> None:
    data = views.price_added(BOOK.rows(at=AT)[0], None, [])
    bad = {**data, "effective_from": "2025-01-01T00:00:00"}
    with pytest.raises(ValidationError, match="is not a 'date-time'"):
        assert_documents(replies.PriceAddedOut, bad, "post", "/api/v1/costs/pricing", "201")
