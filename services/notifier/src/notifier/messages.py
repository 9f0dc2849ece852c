"""Render an event into an email (subject, text, HTML) and a Slack Block Kit payload."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError
from rex_shared import topics
from rex_shared.events import BudgetThresholdCrossed, Contract

from notifier.domain.delivery import PermanentError
from notifier.domain.message import threshold_context


@dataclass(frozen=True)
class Rendered:
    """One alert in every channel's format; `reference` names the delivery it belongs to."""

    subject: str
    text: str
    html: str
    slack: dict[str, Any]
    reference: str = ""


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


# (event type, kind) -> templates. Explicit, so a new event type cannot render by accident.
TEMPLATES: dict[tuple[str, str], TemplateSet] = {
    (topics.BUDGET_THRESHOLD_CROSSED, "actual"): _files("budget_threshold_crossed", "actual"),
    (topics.BUDGET_THRESHOLD_CROSSED, "forecast"): _files("budget_threshold_crossed", "forecast"),
}

ContextBuilder = Callable[[Any, str], dict[str, Any]]

# event type -> (contract, template variables from (event, dashboard_url)).
EVENTS: dict[str, tuple[type[Contract], ContextBuilder]] = {
    topics.BUDGET_THRESHOLD_CROSSED: (
        BudgetThresholdCrossed,
        lambda event, url: threshold_context(event, dashboard_url=url),
    ),
}


class UnknownEventType(LookupError):
    """No templates exist for this event type."""


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
    )
    env.filters["slack_text"] = slack_text
    return env


class Renderer:
    """Turns stored event data into a `Rendered` message."""

    def __init__(self, *, dashboard_url: str, env: Environment | None = None) -> None:
        self._dashboard_url, self._env = dashboard_url, env or make_environment()

    def render(self, event_type: str, data: Mapping[str, Any]) -> Rendered:
        """Validate the data as the event type's contract, then render it."""
        if event_type not in EVENTS:
            raise UnknownEventType(event_type)
        model, _ = EVENTS[event_type]
        try:
            event = model.model_validate(data)
        except ValidationError as exc:  # stored data no longer fits: retrying cannot fix it
            raise PermanentError(f"event data is not a valid {model.__name__}: {exc}") from exc
        return self.render_event(event_type, event)

    def render_event(self, event_type: str, event: Contract) -> Rendered:
        """Render a contract model with the templates of its type and kind."""
        _, build = EVENTS[event_type]
        kind = str(getattr(event, "kind", "default"))
        files = TEMPLATES.get((event_type, kind))
        if files is None:
            raise UnknownEventType(f"{event_type} ({kind})")
        context = build(event, self._dashboard_url)
        subject = self._env.get_template(files.subject).render(context)
        return Rendered(
            # A header is one line: a name with newlines must not break it (or inject headers).
            subject=" ".join(subject.split()),
            text=self._env.get_template(files.text).render(context),
            html=self._env.get_template(files.html).render(context),
            slack=json.loads(self._env.get_template(files.slack).render(context)),
        )
