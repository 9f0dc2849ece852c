"""Which channels get an event: the org's channels by their rules, else the default channels."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from rex_shared import topics
from rex_shared.events import Contract, Severity

from notifier.domain.channels import Kind, Rule
from notifier.domain.severity import severity_of

SEVERITY_RANK: dict[Severity, int] = {"info": 0, "warning": 1, "critical": 2}

# The budget service announces each forecast twice: as `budget.forecast.exceeded` and, for
# subscribers that read thresholds only, as a `budget.threshold.crossed` of kind forecast. The
# notifier delivers the first and skips the second; a rule naming either type gets forecasts.
_ALSO_MATCHES = {topics.BUDGET_FORECAST_EXCEEDED: (topics.BUDGET_THRESHOLD_CROSSED,)}


@dataclass(frozen=True)
class EventFacts:
    """What rules look at in an event."""

    event_type: str
    org_id: str
    severity: Severity
    budget_id: str | None
    project_id: str | None
    also: tuple[str, ...] = ()  # further event types a rule may name to get this event


@dataclass(frozen=True)
class Target:
    """A channel an event may go to; `channel_id` None for a settings-configured default."""

    key: str
    kind: Kind
    channel_id: UUID | None = None
    enabled: bool = True
    rules: tuple[Rule, ...] = field(default_factory=tuple)


def delivered(event_type: str, event: Contract) -> bool:
    """False for a `budget.threshold.crossed` of kind forecast: the forecast's
    `budget.forecast.exceeded` is the one delivered."""
    forecast = getattr(event, "kind", None) == "forecast"
    return not (event_type == topics.BUDGET_THRESHOLD_CROSSED and forecast)


def facts_of(event_type: str, event: Contract) -> EventFacts:
    """The routing facts of any budget event."""
    severity = severity_of(event)
    budget_id = getattr(event, "budget_id", None)
    project_id = getattr(event, "project_id", None)
    if project_id is None and getattr(event, "budget_type", None) == "project":
        project_id = getattr(event, "entity_id", None)  # a project budget names its project
    return EventFacts(
        event_type=event_type,
        org_id=str(getattr(event, "org_id", "")),
        severity=severity,
        budget_id=str(budget_id) if budget_id is not None else None,
        project_id=str(project_id) if project_id is not None else None,
        also=_ALSO_MATCHES.get(event_type, ()),
    )


def matches(rule: Rule, facts: EventFacts) -> bool:
    """True when the event satisfies every condition of the rule."""
    return (
        (not rule.event_types or not {facts.event_type, *facts.also}.isdisjoint(rule.event_types))
        and (not rule.project_ids or facts.project_id in rule.project_ids)
        and (not rule.budget_ids or facts.budget_id in {str(b) for b in rule.budget_ids})
        and SEVERITY_RANK[facts.severity] >= SEVERITY_RANK[rule.min_severity]
    )


def wants(target: Target, facts: EventFacts) -> bool:
    """An enabled channel with no rules gets everything; otherwise any matching rule."""
    return target.enabled and (not target.rules or any(matches(r, facts) for r in target.rules))


def route(
    facts: EventFacts, org_channels: Sequence[Target], defaults: Sequence[Target]
) -> list[Target]:
    """The org's own channels decide once it has any (even disabled); else the defaults."""
    if org_channels:
        return [t for t in org_channels if wants(t, facts)]
    return list(defaults)
