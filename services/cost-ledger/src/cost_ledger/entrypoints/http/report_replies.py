"""The documented shapes of the report replies: summary, daily and the ledger rows.

OpenAPI only, as replies.py: the views build plain dicts, tests/unit/test_replies.py checks
them against these models both ways.
"""

from typing import Literal

from pydantic import Field
from rex_shared.api import DecimalText as DecimalStr

from cost_ledger.domain.periods import Period
from cost_ledger.domain.pricebook import PriceStatus
from cost_ledger.entrypoints.http.replies import (
    CostByComponentOut,
    Currency,
    DateTime,
    Day,
    GroupBy,
    Reply,
    TokensOut,
    Uuid,
)


class SumsOut(Reply):
    """Counts, tokens and costs added up over the rollups."""

    total_cost: DecimalStr
    calls: int
    failed_calls: int
    unpriced_calls: int
    tokens: TokensOut
    cost_by_component: CostByComponentOut


class GroupOut(SumsOut):
    """One group (`key` null: no metric, or no group_by)."""

    key: str | None


class SeriesPointOut(SumsOut):
    """One time bucket of the summary's series (days; weeks for a quarter, months for a year)."""

    period_start: Day


class SummaryOut(SumsOut):
    """`GET /api/v1/costs/summary`: the window [from, to), its totals, groups and series."""

    period: Period
    from_: Day = Field(alias="from")
    to: Day
    currency: Currency
    group_by: GroupBy | None
    groups: list[GroupOut] = Field(description="Largest cost first; empty without group_by")
    series: list[SeriesPointOut]


class DailyItemOut(GroupOut):
    """One (day, group) of `GET /api/v1/costs/daily`."""

    day: Day


class DailyOut(Reply):
    """`GET /api/v1/costs/daily`: the window [from, to) and its (day, group) items."""

    from_: Day = Field(alias="from")
    to: Day
    currency: Currency
    group_by: GroupBy | None
    items: list[DailyItemOut]


class CallRowOut(Reply):
    """One ledger row (a charge, or an adjustment of it); the CSV export has these columns."""

    call_id: Uuid
    seq: int
    entry_kind: Literal["charge", "adjustment"]
    adjustment_id: Uuid | None
    evaluation_id: Uuid | None
    metric: str | None
    row_index: int | None
    project_id: str
    user_id: str
    provider: str
    model: str
    model_id: str | None
    requested_model: str
    api: str
    call_status: Literal["succeeded", "failed"]
    status: PriceStatus
    price_id: str | None
    service_tier: str
    batch: bool
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    output_tokens: int
    reasoning_tokens: int
    input_audio_tokens: int
    output_audio_tokens: int
    web_search_requests: int
    cost_input: DecimalStr
    cost_cache_read: DecimalStr
    cost_cache_write: DecimalStr
    cost_output: DecimalStr
    cost_input_audio: DecimalStr
    cost_output_audio: DecimalStr
    cost_web_search: DecimalStr
    total_cost: DecimalStr
    currency: Currency
    started_at: DateTime
    occurred_at: DateTime
    recorded_at: DateTime
    latency_ms: int
    error: str | None
    note: str | None


class CallsPageOut(Reply):
    """`GET /api/v1/costs/calls` as JSON: newest first; pass next_cursor for the next page."""

    items: list[CallRowOut]
    next_cursor: str | None
