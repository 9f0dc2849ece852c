"""Every template x severity renders valid MIME, escaped HTML and valid Block Kit."""

import json
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from jinja2 import UndefinedError
from notifier.adapters.email import build_email
from notifier.domain.message import SEVERITY_STYLES
from notifier.domain.samples import threshold_crossed
from notifier.messages import TEMPLATES, Rendered, Renderer, make_environment
from rex_shared import topics
from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block

DASHBOARD = "https://rex.example.com/"
KINDS = ("actual", "forecast")
SEVERITIES = ("info", "warning", "critical")
CASES = [(k, s) for k in KINDS for s in SEVERITIES]


def _render(kind: str, severity: str, **changes: Any) -> Rendered:
    event = threshold_crossed(kind=kind, severity=severity)  # type: ignore[arg-type]
    return Renderer(dashboard_url=DASHBOARD).render_event(
        topics.BUDGET_THRESHOLD_CROSSED, event.model_copy(update=changes)
    )


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


@pytest.mark.parametrize(("kind", "severity"), CASES)
def test_the_email_is_multipart_alternative_with_a_text_and_an_html_part(
    kind: str, severity: str
) -> None:
    parsed = _parsed(_render(kind, severity))
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    assert "RAG evaluations (sample)" in text.get_content()
    assert "RAG evaluations (sample)" in html.get_content()
    assert SEVERITY_STYLES[severity].label in str(parsed["Subject"])  # type: ignore[index]


@pytest.mark.parametrize(("kind", "severity"), CASES)
def test_every_part_states_the_numbers_the_period_and_the_link(kind: str, severity: str) -> None:
    rendered = _render(kind, severity)
    link = f"{DASHBOARD.rstrip('/')}/budgets/00000000-0000-4000-8000-000000000002"
    slack = json.dumps(rendered.slack, ensure_ascii=False)
    for part in (rendered.text, rendered.html, slack):
        assert "$500.00" in part  # the limit
        assert "2026-11-01 00:00 UTC" in part and "2026-12-01 00:00 UTC" in part
        assert link in part
    assert "Remaining" in rendered.text or "Over the limit" in rendered.text


@pytest.mark.parametrize(("kind", "severity"), CASES)
def test_no_placeholder_is_left_unresolved(kind: str, severity: str) -> None:
    rendered = _render(kind, severity)
    for part in [rendered.subject, rendered.text, rendered.html, *_strings(rendered.slack)]:
        assert "{{" not in part and "{%" not in part and "}}" not in part
        assert "None" not in part and "Undefined" not in part


@pytest.mark.parametrize(("kind", "severity"), CASES)
def test_severity_shows_in_colour_and_icon(kind: str, severity: str) -> None:
    rendered, style = _render(kind, severity), SEVERITY_STYLES[severity]  # type: ignore[index]
    assert style.icon in rendered.subject
    assert style.colour in rendered.html and style.icon in rendered.html
    assert rendered.slack["attachments"][0]["color"] == style.colour
    assert style.slack_emoji in json.dumps(rendered.slack)


@pytest.mark.parametrize(("kind", "severity"), CASES)
def test_the_slack_payload_validates_against_block_kit_models(kind: str, severity: str) -> None:
    payload = _render(kind, severity).slack
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
    assert "Over the limit:  $30.00" in over.text and "Remaining" not in over.text
    assert "Remaining:       $250.00" in under.text


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
