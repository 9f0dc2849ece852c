"""`/api/v1/notifications/preview`: a sample event rendered as every channel shows it."""

from typing import Any, Literal

from fastapi import APIRouter
from rex_shared.api import Envelope, ok
from rex_shared.events import Severity

from notifier.entrypoints.http.deps import DepsDep, PrincipalDep
from notifier.entrypoints.http.schemas import EventName
from notifier.entrypoints.http.views import Preview, preview_view
from notifier.handlers.preview import preview as render_preview

router = APIRouter()


@router.get("/preview", response_model=Envelope[Preview])
async def preview(
    event: EventName,
    _: PrincipalDep,
    deps: DepsDep,
    kind: Literal["actual", "forecast"] = "actual",
    severity: Severity = "warning",
) -> dict[str, Any]:
    shown = render_preview(event, kind=kind, severity=severity, renderer=deps.renderer)
    return ok(preview_view(event, kind, severity, shown))
