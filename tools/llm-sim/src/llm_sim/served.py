"""Every call the simulator served, as a provider's bill would list it.

A caller names the call with headers (REX's evaluator sends them on every judge call):
`x-rex-evaluation-id` (the evaluation paying for it) and `x-rex-call-id` (REX's id of the
call; the retries of one call share it). Calls without them are counted under `null`.

A call answered with an injected fault (an error status) is kept apart from a billable one
(answered with usage): a provider bills only the second. Token counts are the simulator's
own, in the canonical shape: `input_tokens` is all input (cache reads and writes included),
`output_tokens` includes reasoning.

In memory, under a lock (the app's event loop writes, a test's thread may read). At most
`capacity` calls are kept; beyond that they are counted in `dropped` only, so a reader can
tell that the list is incomplete.
"""

import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

EVALUATION_HEADER = "x-rex-evaluation-id"
CALL_HEADER = "x-rex-call-id"
_TOKENS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
)


@dataclass(frozen=True)
class Tokens:
    """What one call consumed, in the canonical shape."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class ServedCall:
    """One answered request: billable (status 200, with usage) or an injected fault."""

    call_id: str | None
    evaluation_id: str | None
    provider: str
    api: str
    model: str
    streamed: bool
    status: int
    tokens: Tokens
    answered_at: str

    @property
    def billable(self) -> bool:
        return self.status == 200

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body.update(body.pop("tokens"))
        body["billable"] = self.billable
        return body


def served_call(
    request: Request,
    body: dict[str, Any],
    source: tuple[str, str],
    model: str,
    *,
    status: int = 200,
    tokens: Tokens | None = None,
) -> ServedCall:
    """The record of `request` to `source` (provider, api), named by its REX headers and
    answered now."""
    provider, api = source
    return ServedCall(
        call_id=request.headers.get(CALL_HEADER),
        evaluation_id=request.headers.get(EVALUATION_HEADER),
        provider=provider,
        api=api,
        model=model,
        streamed=bool(body.get("stream")),
        status=status,
        tokens=tokens or Tokens(),
        answered_at=datetime.now(UTC).isoformat(),
    )


class ServedLog:
    """The calls served so far, safe to use from several threads."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._calls: list[ServedCall] = []
        self._dropped = 0

    def add(self, call: ServedCall) -> None:
        with self._lock:
            if len(self._calls) < self._capacity:
                self._calls.append(call)
            else:
                self._dropped += 1

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._dropped = 0

    def calls(self, evaluation_id: str | None = None) -> list[ServedCall]:
        """The calls kept, in the order answered; of one evaluation when it is named."""
        with self._lock:
            kept = list(self._calls)
        return [c for c in kept if evaluation_id is None or c.evaluation_id == evaluation_id]

    def report(self, evaluation_id: str | None = None) -> dict[str, Any]:
        """Totals (billable calls with their tokens, faults per status) and every call."""
        with self._lock:
            dropped = self._dropped
        calls = self.calls(evaluation_id)
        billable = [c for c in calls if c.billable]
        faults: dict[str, int] = {}
        for call in calls:
            if not call.billable:
                faults[str(call.status)] = faults.get(str(call.status), 0) + 1
        totals = {name: sum(getattr(c.tokens, name) for c in billable) for name in _TOKENS}
        return {
            "evaluation_id": evaluation_id,
            "billable": {"calls": len(billable), **totals},
            "faulted": {"calls": len(calls) - len(billable), "by_status": faults},
            "dropped": dropped,
            "calls": [c.as_json() for c in calls],
        }
