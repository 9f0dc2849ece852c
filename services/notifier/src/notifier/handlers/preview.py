"""Use case of the preview: a sample event rendered as every channel would show it."""

from typing import Literal

from rex_shared.errors import Invalid
from rex_shared.events import Severity

from notifier.domain.message import Rendered
from notifier.domain.samples import SAMPLES
from notifier.ports import MessageRenderer


def preview(
    event: str,
    *,
    kind: Literal["actual", "forecast"],
    severity: Severity,
    renderer: MessageRenderer,
) -> Rendered:
    """The sample of `event` rendered; an event type without templates is refused."""
    if event not in SAMPLES:
        raise Invalid(
            "UNKNOWN_EVENT_TYPE", f"no templates for event {event!r}", {"known": sorted(SAMPLES)}
        )
    return renderer.render_event(event, SAMPLES[event](kind=kind, severity=severity))
