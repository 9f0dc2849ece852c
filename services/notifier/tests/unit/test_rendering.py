"""Every template x severity renders valid MIME, escaped HTML and valid Block Kit."""

import json
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from jinja2 import UndefinedError
from notifier.adapters.email import build_email
from notifier.adapters.renderer import TEMPLATES, Renderer, make_environment
from notifier.domain.message import SEVERITY_STYLES, Rendered
from notifier.domain.samples import SAMPLES, period_closed, threshold_crossed
from rex_shared import topics
from rex_shared.events import BudgetPeriodClosed
from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block

DASHBOARD = "https://rex.example.com/"
KINDS = ("actual", "forecast")
SEVERITIES = ("info", "warning", "critical")
CASES = [(k, s) for k in KINDS for s in SEVERITIES]
# Every template: each event type's variants and severities, as a real and as a test message.
ALL = [
    pytest.param(t, k, s, test, id=f"{t}-{k}-{s}{'-test' if test else ''}")
    for t in SAMPLES
    for k in (KINDS if t == topics.BUDGET_THRESHOLD_CROSSED else ("-",))
    for s in (SEVERITIES if t != topics.BUDGET_FORECAST_EXCEEDED else ("warning",))
    for test in (False, True)
]


def _render(kind: str, severity: str, **changes: Any) -> Rendered:
    event = threshold_crossed(kind=kind, severity=severity)  # type: ignore[arg-type]
    return RENDERER.render_event(topics.BUDGET_THRESHOLD_CROSSED, event.model_copy(update=changes))


RENDERER = Renderer(dashboard_url=DASHBOARD)  # compiled once: templates are cached per environment


def _any(event_type: str, kind: str, severity: str, test: bool = False) -> Rendered:
    event = SAMPLES[event_type](kind=kind, severity=severity)
    return RENDERER.render_event(event_type, event, test=test)


def _parsed(message: Rendered) -> EmailMessage:
    mail = build_email(message, sender="rex@example.com", recipients=("a@example.com",))
    parsed = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _all_blocks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    nested = [b for a in payload.get("attachments", []) for b in a["blocks"]]
    return list(payload["blocks"]) + nested


@pytest.mark.parametrize(("event_type", "kind", "severity", "test"), ALL)
def test_the_email_is_multipart_alternative_with_a_text_and_an_html_part(
    event_type: str, kind: str, severity: str, test: bool
) -> None:
    parsed = _parsed(_any(event_type, kind, severity, test))
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    assert "RAG evaluations (sample)" in text.get_content()
    assert "RAG evaluations (sample)" in html.get_content()
    assert SEVERITY_STYLES[severity].label in str(parsed["Subject"]) or (  # type: ignore[index]
        event_type == topics.BUDGET_PERIOD_CLOSED and "Period report" in str(parsed["Subject"])
    )
    assert str(parsed["Subject"]).startswith("[TEST] ") == test


@pytest.mark.parametrize(("event_type", "kind", "severity", "test"), ALL)
def test_every_part_states_the_numbers_the_period_and_the_link(
    event_type: str, kind: str, severity: str, test: bool
) -> None:
    rendered = _any(event_type, kind, severity, test)
    link = f"{DASHBOARD.rstrip('/')}/budgets/00000000-0000-4000-8000-000000000002"
    slack = json.dumps(rendered.slack, ensure_ascii=False)
    event = SAMPLES[event_type](kind=kind, severity=severity)
    start = event.period_start.strftime("%Y-%m-%d %H:%M UTC")  # type: ignore[attr-defined]
    for part in (rendered.text, rendered.html, slack):
        assert "$500.00" in part  # the limit
        assert start in part
        assert link in part
        assert ("TEST MESSAGE" in part) == test
    assert ("Remaining" in rendered.text) != ("Over the limit by" in rendered.text) or (
        event_type == topics.BUDGET_FORECAST_EXCEEDED
    )


@pytest.mark.parametrize(("event_type", "kind", "severity", "test"), ALL)
def test_no_placeholder_is_left_unresolved(
    event_type: str, kind: str, severity: str, test: bool
) -> None:
    rendered = _any(event_type, kind, severity, test)
    for part in [rendered.subject, rendered.text, rendered.html, *_strings(rendered.slack)]:
        assert "{{" not in part and "{%" not in part and "}}" not in part
        assert "None" not in part and "Undefined" not in part


@pytest.mark.parametrize(("event_type", "kind", "severity", "test"), ALL)
def test_severity_shows_in_colour_and_icon(
    event_type: str, kind: str, severity: str, test: bool
) -> None:
    rendered = _any(event_type, kind, severity, test)
    style = SEVERITY_STYLES[severity]  # type: ignore[index]
    assert style.icon in rendered.subject
    assert style.colour in rendered.html and style.icon in rendered.html
    assert rendered.slack["attachments"][0]["color"] == style.colour
    assert style.slack_emoji in json.dumps(rendered.slack)


@pytest.mark.parametrize(("event_type", "kind", "severity", "test"), ALL)
def test_the_slack_payload_validates_against_block_kit_models(
    event_type: str, kind: str, severity: str, test: bool
) -> None:
    payload = _any(event_type, kind, severity, test).slack
    assert payload["text"]
    for raw in _all_blocks(payload):
        block = Block.parse(raw)
        assert block is not None
        block.validate_json()  # raises SlackObjectFormationError when a limit is broken
        assert block.to_dict() == raw
    for attachment in payload["attachments"]:
        BlockAttachment(blocks=attachment["blocks"], color=attachment["color"]).validate_json()


def test_html_escapes_the_budget_name_and_slack_neutralises_it() -> None:
    rendered = _render("actual", "critical", budget_name='<script>alert("x")</script> <!channel>')
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    slack = json.dumps(rendered.slack)
    assert "<script>" not in slack and "<!channel>" not in slack
    assert "&lt;!channel&gt;" in rendered.slack["blocks"][1]["text"]["text"]
    context = rendered.slack["attachments"][0]["blocks"][1]["elements"][0]["text"]
    assert "&lt;!channel&gt;" in context
    assert "<script>" in rendered.text  # plain text is not markup: shown as written


def test_a_name_with_newlines_cannot_break_the_subject_header() -> None:
    rendered = _render("actual", "warning", budget_name="evil\r\nBcc: victim@example.com")
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert _parsed(rendered)["Bcc"] is None


def test_money_is_rounded_half_even_for_display_only() -> None:
    rendered = _render(
        "actual", "warning", usage_amount=Decimal("412.505"), limit_amount=Decimal("500.015")
    )
    assert "$412.50" in rendered.text  # half-even: 412.505 -> 412.50
    assert "$500.02" in rendered.text  # half-even: 500.015 -> 500.02


def test_over_the_limit_says_by_how_much_instead_of_remaining() -> None:
    over = _render("actual", "critical", usage_amount=Decimal("530"), limit_amount=Decimal(500))
    under = _render("actual", "info", usage_amount=Decimal("250"), limit_amount=Decimal(500))
    assert "Over the limit by:        $30.00" in over.text and "Remaining" not in over.text
    assert "Remaining:                $250.00" in under.text


def test_the_plain_text_opens_with_the_headline_then_a_blank_line() -> None:
    first, blank, lead = _render("actual", "warning").text.split("\n")[:3]
    assert first.endswith("WARNING: budget threshold crossed")
    assert blank == ""
    assert lead.startswith('Budget "RAG evaluations (sample)" has used')


def test_forecast_and_actual_use_their_own_wording() -> None:
    assert "forecast" in _render("forecast", "warning").subject
    assert "forecast" not in _render("actual", "warning").subject
    assert "Forecast usage" in _render("forecast", "warning").text


def test_every_mapped_template_exists_and_a_missing_variable_fails_loudly() -> None:
    env = make_environment()
    assert {t for t, _ in TEMPLATES} == set(SAMPLES)  # every event type with templates previews
    for files in TEMPLATES.values():
        for name in (files.subject, files.text, files.html, files.slack):
            template = env.get_template(name)
            with pytest.raises(UndefinedError):
                template.render({})


def test_the_delivery_reference_becomes_a_stable_message_id() -> None:
    rendered = _render("actual", "info")
    mail = build_email(
        Rendered(rendered.subject, rendered.text, rendered.html, rendered.slack, "d-1"),
        sender="rex@example.com",
        recipients=("a@example.com", "b@example.com"),
    )
    assert mail["Message-ID"] == "<d-1@rex-notifier>"
    assert mail["To"] == "a@example.com, b@example.com"


def test_a_forecast_states_the_projection_and_when_the_limit_is_reached() -> None:
    rendered = _any(topics.BUDGET_FORECAST_EXCEEDED, "-", "warning")
    for part in (rendered.text, rendered.html, json.dumps(rendered.slack, ensure_ascii=False)):
        assert "$630.00" in part and "126.0%" in part
        assert "2026-11-24 08:00 UTC" in part
        assert "$0.8750 per hour" in part
    crossed = _render(
        "forecast",
        "warning",
        projected_amount=Decimal("640"),
        runs_out_at=threshold_crossed(kind="actual", severity="info").crossed_at,
    )
    assert "Projected at period end:  $640.00" in crossed.text
    assert "the limit is reached at 2026-11-20 14:30 UTC" in crossed.text


def test_the_period_report_states_the_totals() -> None:
    rendered = _any(topics.BUDGET_PERIOD_CLOSED, "-", "critical")
    assert "Spent:                    $537.25" in rendered.text
    assert "Over the limit by:        $37.25" in rendered.text
    assert "Calls counted:            18,342" in rendered.text
    assert "Thresholds crossed:       2" in rendered.text
    assert "Period closed at 2026-11-01 00:00 UTC" in rendered.html


class _WithDrivers(BudgetPeriodClosed):
    """The report as it would look once the contract carries `top_cost_drivers`."""

    top_cost_drivers: list[dict[str, Any]] = []


def test_top_cost_drivers_show_when_the_event_carries_them() -> None:
    base = period_closed(severity="warning").model_dump()
    drivers = [
        {"label": "gpt-4o <faithfulness>", "amount": "301.5"},
        {"label": "claude", "amount": 2},
    ]
    event = _WithDrivers(**base, top_cost_drivers=drivers)
    rendered = RENDERER.render_event(topics.BUDGET_PERIOD_CLOSED, event)
    assert "  - gpt-4o <faithfulness>: $301.50\n  - claude: $2.00" in rendered.text
    assert "<li>gpt-4o &lt;faithfulness&gt;: $301.50</li>" in rendered.html
    section = rendered.slack["attachments"][0]["blocks"][1]
    assert section["text"]["text"] == (
        "*Top cost drivers*\n• gpt-4o &lt;faithfulness&gt;: $301.50\n• claude: $2.00"
    )
    Block.parse(section).validate_json()  # type: ignore[union-attr]
    plain = RENDERER.render_event(topics.BUDGET_PERIOD_CLOSED, period_closed(severity="warning"))
    assert "Top cost drivers" not in plain.text + plain.html + json.dumps(plain.slack)
