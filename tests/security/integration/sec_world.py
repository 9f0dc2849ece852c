"""Org A's objects, made once per session: the small table of "how to create one valid object"
per service, plus the objects that only events create (costs, alerts, deliveries).

Everything else the matrix does is derived from the OpenAPI documents. A table entry names the
collection template whose items it creates; its id then fills `{param}` right after that
collection in every path of that service.
"""

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaProducer
from rex_shared import cloudevents
from rex_shared.auth import JwtVerifier
from rex_shared.events import LlmCallCompleted, Usage
from rex_shared.kafka import send_events


@dataclass
class Org:
    """An organization and the people in it."""

    id: str
    tag: str
    verifier: JwtVerifier

    def headers(self, user: str, *roles: str) -> dict[str, str]:
        token = self.verifier.mint(sub=user, org_id=self.id, roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.headers(f"admin-{self.tag}", "admin")

    @property
    def viewer(self) -> dict[str, str]:
        return self.headers(f"viewer-{self.tag}", "viewer")

    @property
    def service(self) -> dict[str, str]:
        return self.headers("evaluator", "service")

    def member(self, user: str) -> dict[str, str]:
        return self.headers(user, "member")


@dataclass
class Ctx:
    """What a request body may need: the org, its members, a webhook URL, a provider key."""

    org: Org
    member_x: str
    member_y: str
    webhook_url: str
    provider_key: str = field(default_factory=lambda: f"sk-secA-{secrets.token_hex(20)}")

    @property
    def tag(self) -> str:
        return self.org.tag


Body = Callable[[Ctx], dict[str, Any]]


def _row() -> dict[str, Any]:
    return {
        "question": "What is the Eiffel Tower?",
        "contexts": ["The Eiffel Tower is a wrought-iron lattice tower in Paris, France."],
        "answer": "The Eiffel Tower is a wrought-iron lattice tower in Paris.",
        "ground_truth": "A wrought-iron lattice tower in Paris.",
    }


def _evaluation(c: Ctx) -> dict[str, Any]:
    return {
        "project_id": f"proj-{c.tag}",
        "metrics": ["faithfulness"],
        "rows": [_row()],
        "name": f"secA-{c.tag}-evaluation",
    }


def _budget(c: Ctx) -> dict[str, Any]:
    return {
        "name": f"secA-{c.tag}-budget",
        "type": "organization",
        "limit_amount": "100.00",
        "period": "monthly",
        "is_hard_limit": False,
    }


def _reservation(c: Ctx) -> dict[str, Any]:
    return {
        "project_id": f"proj-{c.tag}",
        "user_id": c.member_x,
        "estimated_cost": "0.001",
        "evaluation_id": str(uuid4()),
    }


def _channel(c: Ctx) -> dict[str, Any]:
    return {
        "name": f"secA-{c.tag}-hook",
        "kind": "webhook",
        "secrets": {"url": c.webhook_url, "signing_secret": secrets.token_urlsafe(32)},
    }


def _price(c: Ctx) -> dict[str, Any]:
    # An org-negotiated price (scope "org"): only org A's calls are priced with it.
    return {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "effective_from": "2024-01-01T00:00:00Z",
        "rates": {"input": "0.10", "output": "0.40"},
        "note": f"secA-{c.tag}-price",
    }


@dataclass(frozen=True)
class Creation:
    """How org A's admin (or `role`) makes one object of a collection."""

    service: str
    collection: str
    method: str
    path: str
    body: Body
    role: str = "admin"
    ident: Callable[[dict[str, Any]], str] = lambda data: str(data["id"])
    # The "id" is a name every org has its own of (a provider): another org may write its
    # own object under it, as long as org A's stays untouched.
    named: bool = False


CREATIONS = (
    Creation("budget", "/api/v1/budgets", "POST", "/api/v1/budgets", _budget),
    Creation(
        "budget",
        "/api/v1/budgets/reservations",
        "POST",
        "/api/v1/budgets/reservations",
        _reservation,
        role="service",
    ),
    Creation("evaluator", "/api/v1/evaluations", "POST", "/api/v1/evaluations", _evaluation),
    Creation(
        "evaluator",
        "/api/v1/datasets",
        "POST",
        "/api/v1/datasets",
        lambda c: {"name": f"secA-{c.tag}-dataset", "rows": [_row()]},
    ),
    Creation(
        "notifier",
        "/api/v1/notifications/channels",
        "POST",
        "/api/v1/notifications/channels",
        _channel,
    ),
    Creation("cost-ledger", "/api/v1/costs/pricing", "POST", "/api/v1/costs/pricing", _price),
    Creation(
        "evaluator",
        "/api/v1/provider-keys",
        "PUT",
        "/api/v1/provider-keys/openai",
        lambda c: {"api_key": c.provider_key},
        ident=lambda _: "openai",
        named=True,
    ),
)

# Bodies for the other operations on an item (templates with `{}` for any parameter), so a
# request passes validation and reaches the ownership check. Default: `{}`.
BODIES: dict[tuple[str, str], Body] = {
    ("PUT", "/api/v1/budgets/{}"): lambda c: {"name": f"hijacked-{c.tag}", "limit_amount": "1"},
    ("PUT", "/api/v1/notifications/channels/{}"): lambda c: {
        **_channel(c),
        "name": f"hijacked-{c.tag}",
    },
    ("PUT", "/api/v1/provider-keys/{}"): lambda c: {"api_key": f"sk-hijacked-{c.tag}-0000"},
    ("POST", "/api/v1/budgets/reservations/{}/settle"): lambda c: {},
    ("POST", "/api/v1/budgets/check"): lambda c: {
        "project_id": f"proj-{c.tag}",
        "user_id": c.member_x,
        "estimated_cost": "1000",
    },
    ("POST", "/api/v1/evaluations/estimate"): _evaluation,
    ("POST", "/api/v1/costs/reprice"): lambda c: {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "dry_run": True,
    },
    ("POST", "/api/v1/costs/estimate"): lambda c: {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "usage": {"input_tokens": 1000},
    },
}


def body_for(method: str, template: str, ctx: Ctx) -> dict[str, Any] | None:
    """The request body an operation gets in the matrix."""
    key = (method, re.sub(r"\{[^}]+\}", "{}", template))
    if key in BODIES:
        return BODIES[key](ctx)
    creation = next((c for c in CREATIONS if c.method == method and c.collection == template), None)
    return creation.body(ctx) if creation else {}


# ------------------------------------------------------------------ events make the rest


def call_event(org: str, user: str, evaluation_id: str, project: str) -> cloudevents.OutgoingEvent:
    """One judge call as the evaluator reports it: 1000 input and 100 output tokens."""
    now = datetime.now(UTC)
    data = LlmCallCompleted(
        call_id=uuid4(),
        evaluation_id=evaluation_id,
        metric="faithfulness",
        org_id=org,  # type: ignore[arg-type]
        project_id=project,
        user_id=user,
        provider="openai",
        model="gpt-4o-mini-2024-07-18",
        requested_model="gpt-4o-mini",
        api="chat.completions",
        started_at=now,
        completed_at=now,
        latency_ms=120,
        status="succeeded",
        usage=Usage(input_tokens=1000, output_tokens=100),
    )
    return cloudevents.build(
        data, source="rex/security-tests", event_id=str(data.call_id), key=str(data.call_id)
    )


async def publish(producer: AIOKafkaProducer, *events: cloudevents.OutgoingEvent) -> None:
    await send_events(producer, events)


async def data_of(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> Any:
    reply = await http.get(path, headers=headers, params=params)
    if reply.status_code != 200:
        return None
    return reply.json().get("data")


def ids_in(page: Any) -> list[str]:
    """The ids of a list page (`{"items": [...]}` or a bare list)."""
    items = page.get("items", []) if isinstance(page, dict) else page or []
    return [str(i.get("id")) for i in items if isinstance(i, dict)]


@dataclass
class World:
    """Orgs A and B, and what org A owns, by service and collection template."""

    a: Org
    b: Org
    ctx: Ctx
    owned: dict[str, dict[str, str]] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)
    named: set[tuple[str, str]] = field(default_factory=set)
    mine: dict[str, str] = field(default_factory=dict)  # member X's objects by kind

    def own(self, service: str, collection: str, ident: str, *, named: bool = False) -> None:
        self.owned.setdefault(service, {})[collection] = ident
        if named:  # a name like "openai" is no secret of A's; its contents are (see markers)
            self.named.add((service, collection))
        else:
            self.markers.add(ident)

    def leaked(self, text: str, allowed: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Org A's ids and markers found in `text` (other than those the caller sent)."""
        return sorted(m for m in self.markers - set(allowed) if m in text)


def new_org(verifier: JwtVerifier, name: str) -> Org:
    tag = secrets.token_hex(5)
    return Org(f"org-sec{name}-{tag}", tag, verifier)


def pretty(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)[:1500]
