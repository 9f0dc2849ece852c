"""Routing rules, the pacing schedule, signatures, severities and redaction: pure, table-driven."""

import hashlib
import hmac
from decimal import Decimal
from uuid import UUID

import pytest
from notifier.adapters.redact import Redactor
from notifier.domain.channels import RateLimit, Rule
from notifier.domain.pacing import slot_waits, takeable
from notifier.domain.routing import EventFacts, Target, delivered, facts_of, matches, route
from notifier.domain.samples import forecast_exceeded, period_closed, threshold_crossed
from notifier.domain.severity import severity_of
from notifier.domain.signing import signature, signature_headers
from rex_shared import topics

BUDGET = "00000000-0000-4000-8000-000000000002"
FACTS = EventFacts(topics.BUDGET_THRESHOLD_CROSSED, "org-1", "warning", BUDGET, "project-sample")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (Rule(), True),
        (Rule(event_types=[topics.BUDGET_THRESHOLD_CROSSED]), True),
        (Rule(event_types=[topics.BUDGET_PERIOD_CLOSED]), False),
        (Rule(project_ids=["project-sample", "p2"]), True),
        (Rule(project_ids=["p2"]), False),
        (Rule(budget_ids=[UUID(BUDGET)]), True),
        (Rule(budget_ids=[UUID(int=7)]), False),
        (Rule(min_severity="info"), True),
        (Rule(min_severity="warning"), True),
        (Rule(min_severity="critical"), False),
        (Rule(project_ids=["project-sample"], min_severity="critical"), False),  # all must hold
    ],
)
def test_a_rule_matches_when_every_condition_holds(rule: Rule, expected: bool) -> None:
    assert matches(rule, FACTS) is expected


def test_a_channel_gets_an_event_when_any_of_its_rules_matches() -> None:
    critical = Rule(min_severity="critical")
    project = Rule(project_ids=["project-sample"])
    either = Target("channel:1", "slack", UUID(int=1), rules=(critical, project))
    only_critical = Target("channel:2", "email", UUID(int=2), rules=(critical,))
    everything = Target("channel:3", "webhook", UUID(int=3))
    off = Target("channel:4", "webhook", UUID(int=4), enabled=False)
    chosen = route(FACTS, [either, only_critical, everything, off], [Target("email:d", "email")])
    assert [t.key for t in chosen] == ["channel:1", "channel:3"]


def test_the_defaults_apply_only_to_an_org_without_channels() -> None:
    default = Target("email:default", "email")
    assert route(FACTS, [], [default]) == [default]
    off = Target("channel:4", "webhook", UUID(int=4), enabled=False)
    assert route(FACTS, [off], [default]) == []  # an org that silenced its channels stays silent


def test_facts_come_from_each_kind_of_budget_event() -> None:
    crossed = facts_of(
        topics.BUDGET_THRESHOLD_CROSSED, threshold_crossed(kind="actual", severity="critical")
    )
    assert (crossed.severity, crossed.project_id, crossed.budget_id) == (
        "critical", "project-sample", BUDGET
    )  # fmt: skip
    user_budget = threshold_crossed(kind="actual", severity="info").model_copy(
        update={"budget_type": "user", "entity_id": "alice"}
    )
    assert facts_of(topics.BUDGET_THRESHOLD_CROSSED, user_budget).project_id is None
    assert facts_of(topics.BUDGET_FORECAST_EXCEEDED, forecast_exceeded()).severity == "warning"


@pytest.mark.parametrize(
    ("event_types", "expected"),
    [
        ([topics.BUDGET_FORECAST_EXCEEDED], True),
        ([topics.BUDGET_THRESHOLD_CROSSED], True),  # forecasts were thresholds of kind forecast
        ([topics.BUDGET_PERIOD_CLOSED], False),
    ],
)
def test_a_rule_naming_either_forecast_type_matches_a_forecast(
    event_types: list[str], expected: bool
) -> None:
    facts = facts_of(topics.BUDGET_FORECAST_EXCEEDED, forecast_exceeded())
    assert matches(Rule(event_types=event_types), facts) is expected


def test_only_the_forecast_topic_delivers_a_forecast() -> None:
    forecast = threshold_crossed(kind="forecast", severity="warning")
    assert not delivered(topics.BUDGET_THRESHOLD_CROSSED, forecast)
    assert delivered(topics.BUDGET_FORECAST_EXCEEDED, forecast_exceeded())
    actual = threshold_crossed(kind="actual", severity="warning")
    assert delivered(topics.BUDGET_THRESHOLD_CROSSED, actual)
    assert delivered(topics.BUDGET_PERIOD_CLOSED, period_closed())


@pytest.mark.parametrize(
    ("percent", "severity"),
    [("0", "info"), ("79.99", "info"), ("80", "warning"), ("99.9", "warning"),
     ("100", "critical"), ("250", "critical")],
)  # fmt: skip
def test_a_period_report_takes_the_budget_services_severity_bands(
    percent: str, severity: str
) -> None:
    report = period_closed().model_copy(update={"usage_percent": Decimal(percent)})
    assert severity_of(report) == severity


def test_unknown_event_types_in_a_rule_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown event types"):
        Rule(event_types=["budget.nonsense"])


@pytest.mark.parametrize(
    ("per_second", "burst", "ahead", "count", "waits"),
    [
        (1, 1, 0.0, 3, [0.0, 1.0, 2.0]),
        (1, 3, 0.0, 5, [0.0, 0.0, 0.0, 1.0, 2.0]),
        (2, 2, 0.0, 4, [0.0, 0.0, 0.5, 1.0]),
        (1, 3, 5.0, 2, [3.0, 4.0]),  # the bucket is busy: after the sends already taken
        (10, 1, 0.25, 2, [0.25, 0.35]),
    ],
)
def test_each_send_gets_a_slot_burst_first_then_at_the_rate(
    per_second: float, burst: int, ahead: float, count: int, waits: list[float]
) -> None:
    rate = RateLimit(per_second=per_second, burst=burst)
    assert slot_waits(rate, ahead_s=ahead, count=count) == pytest.approx(waits)


@pytest.mark.parametrize(
    ("per_second", "burst", "ahead", "wanted", "within", "taken"),
    [
        (1, 3, 0.0, 10, 0.0, 3),  # an idle bucket: the burst, now
        (1, 3, 0.0, 10, 1.0, 4),  # and one more a second later
        (1, 3, 0.0, 2, 5.0, 2),  # never more than wanted
        (1, 1, 5.0, 3, 1.0, 0),  # busy for 5 s: nothing within 1 s
        (2, 1, 0.5, 5, 1.0, 2),  # slots at 0.5, 1.0, 1.5 s: two within 1 s
    ],
)
def test_only_slots_within_the_horizon_are_taken(
    per_second: float, burst: int, ahead: float, wanted: int, within: float, taken: int
) -> None:
    rate = RateLimit(per_second=per_second, burst=burst)
    assert takeable(rate, ahead_s=ahead, wanted=wanted, within_s=within) == taken
    waits = slot_waits(rate, ahead_s=ahead, count=wanted)
    assert taken == sum(w <= within for w in waits)  # the same rule as the slots themselves


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(b"s" * 32, b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert signature("s" * 32, 1700000000, body) == expected
    headers = signature_headers("s" * 32, 1700000000, body)
    assert headers == {"X-Rex-Signature": f"t=1700000000,v1={expected}",
                       "X-Rex-Timestamp": "1700000000"}  # fmt: skip
    assert signature("t" * 32, 1700000000, body) != expected
    assert signature("s" * 32, 1700000001, body) != expected


def test_redaction_removes_secrets_and_the_token_parts_of_secret_urls() -> None:
    url = "https://hooks.slack.com/services/T0/B0/sEcReTtOkEn?x=topsecret"
    redact = Redactor([url, "hunter2hunter2"])
    text = (
        f"POST {url} failed; path /services/T0/B0/sEcReTtOkEn; query x=topsecret;"
        " password hunter2hunter2"
    )
    cleaned = redact(text)
    assert "sEcReTtOkEn" not in cleaned and "topsecret" not in cleaned
    assert "hunter2" not in cleaned
    assert cleaned.count("[redacted]") == 4
