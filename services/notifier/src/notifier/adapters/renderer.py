"""Render an event into an email (subject, text, HTML) and a Slack Block Kit payload."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from rex_shared import topics
from rex_shared.events import (
    BudgetForecastExceeded,
    BudgetPeriodClosed,
    BudgetThresholdCrossed,
    Contract,
)

from notifier.domain.delivery import PermanentError
from notifier.domain.message import (
    Rendered,
    UnknownEventType,
    forecast_context,
    period_closed_context,
    threshold_context,
)


@dataclass(frozen=True)
class TemplateSet:
    """The template files of one event type and kind."""

    subject: str
    text: str
    html: str
    slack: str


def _files(folder: str, kind: str) -> TemplateSet:
    base = f"{folder}/{kind}"
    return TemplateSet(f"{base}.subject.txt", f"{base}.txt", f"{base}.html", f"{base}.slack.json")


# (event type, variant) -> templates. Explicit, so a new event type cannot render by accident.
TEMPLATES: dict[tuple[str, str], TemplateSet] = {
    (topics.BUDGET_THRESHOLD_CROSSED, "actual"): _files("budget_threshold_crossed", "actual"),
    (topics.BUDGET_THRESHOLD_CROSSED, "forecast"): _files("budget_threshold_crossed", "forecast"),
    (topics.BUDGET_FORECAST_EXCEEDED, "default"): _files("budget_forecast_exceeded", "default"),
    (topics.BUDGET_PERIOD_CLOSED, "report"): _files("budget_period_closed", "report"),
}


@dataclass(frozen=True)
class EventSpec:
    """An event type's contract, its template variables, and which template variant it uses."""

    model: type[Contract]
    context: Callable[[Any, str], dict[str, Any]]
    variant: Callable[[Any], str]


# event type -> how to read and render it; every budget topic the notifier consumes.
EVENTS: dict[str, EventSpec] = {
    topics.BUDGET_THRESHOLD_CROSSED: EventSpec(
        BudgetThresholdCrossed,
        lambda event, url: threshold_context(event, dashboard_url=url),
        lambda event: str(event.kind),
    ),
    topics.BUDGET_FORECAST_EXCEEDED: EventSpec(
        BudgetForecastExceeded,
        lambda event, url: forecast_context(event, dashboard_url=url),
        lambda _: "default",
    ),
    topics.BUDGET_PERIOD_CLOSED: EventSpec(
        BudgetPeriodClosed,
        lambda event, url: period_closed_context(event, dashboard_url=url),
        lambda _: "report",
    ),
}


# What each kind of channel sends, besides the subject (rendering the rest would be waste).
PARTS: dict[str, tuple[str, ...]] = {
    "email": ("text", "html"),
    "slack": ("slack",),
    "webhook": ("text",),
}


def slack_text(value: object) -> str:
    """Escape Slack's control characters so user text cannot become a mention or a link."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def make_environment() -> Environment:
    """Templates from the package; HTML autoescaped, any missing variable an error."""
    env = Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package; no stat() per render
    )
    env.filters["slack_text"] = slack_text
    return env


class Renderer:
    """Turns stored event data into a `Rendered` message."""

    def __init__(self, *, dashboard_url: str, env: Environment | None = None) -> None:
        self._dashboard_url, self._env = dashboard_url, env or make_environment()

    def render(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        test: bool = False,
        kind: str | None = None,
    ) -> Rendered:
        """Validate the data as the event type's contract, then render it."""
        if event_type not in EVENTS:
            raise UnknownEventType(event_type)
        model = EVENTS[event_type].model
        try:
            event = model.model_validate(data)
        except ValidationError as exc:  # stored data no longer fits: retrying cannot fix it
            raise PermanentError(f"event data is not a valid {model.__name__}: {exc}") from exc
        return self.render_event(event_type, event, test=test, kind=kind)

    def render_event(
        self, event_type: str, event: Contract, *, test: bool = False, kind: str | None = None
    ) -> Rendered:
        """Render a contract model with the templates of its type and variant; with a channel
        `kind`, only the parts that kind sends."""
        spec = EVENTS.get(event_type)
        if spec is None:
            raise UnknownEventType(event_type)
        variant = spec.variant(event)
        files = TEMPLATES.get((event_type, variant))
        if files is None:
            raise UnknownEventType(f"{event_type} ({variant})")
        context = {**spec.context(event, self._dashboard_url), "is_test": test}
        wanted = PARTS.get(kind or "", ("text", "html", "slack"))

        def part(name: str) -> str:
            if name not in wanted:
                return ""
            return self._env.get_template(getattr(files, name)).render(context)

        subject = self._env.get_template(files.subject).render(context)
        slack = part("slack")
        return Rendered(
            # A header is one line: a name with newlines must not break it (or inject headers).
            subject=("[TEST] " if test else "") + " ".join(subject.split()),
            text=part("text"),
            html=part("html"),
            slack=json.loads(slack) if slack else {},
            event_type=event_type,
            data=event.model_dump(mode="json"),
            test=test,
        )
