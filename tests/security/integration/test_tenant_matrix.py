"""The cross-tenant matrix, generated from each service's OpenAPI document.

For every path + method under /api/v1 of every service: no token is a 401 with a code; org B's
tokens on org A's objects get 404 or 403 and none of A's data; B's lists show nothing of A;
members and viewers cannot change what only admins may; and A still owns its objects unchanged
afterwards. Org A's objects come from the table in `sec_world`; every other detail is read from
the OpenAPI documents at collection time, so endpoints added later are covered automatically.
"""

import re
from typing import Any

import pytest
from sec_apps import SERVICES, Served
from sec_openapi import WRITES, Op, fill, offline_spec, operations
from sec_world import World, body_for, pretty


def _all_operations() -> list[Any]:
    found: list[Any] = []
    for service in SERVICES:
        try:
            ops = operations(service, offline_spec(service))
        except Exception as exc:  # the service cannot even build its app: one failing case
            found.append(pytest.param(service, exc, id=f"{service} cannot build its app"))
            continue
        found += [pytest.param(op.service, op, id=op.id) for op in ops]
    return found


OPERATIONS = _all_operations()
ITEM_OPS = [p for p in OPERATIONS if not isinstance(p.values[1], Op) or p.values[1].path_params]
GET_ITEM_OPS = [
    p for p in ITEM_OPS if not isinstance(p.values[1], Op) or p.values[1].method == "GET"
]
LIST_OPS = [
    p
    for p in OPERATIONS
    if not isinstance(p.values[1], Op)
    or (p.values[1].method == "GET" and not p.values[1].path_params)
]

# What only an admin may change (issue 3): prices, budgets, channels and routing, provider keys.
_ADMIN_ONLY = (
    r"^/api/v1/costs/(pricing|reprice)(/.*)?$",
    r"^/api/v1/budgets(/\{[^}/]+\})?$",
    r"^/api/v1/notifications/(channels|rules|routes|routing)(/.*)?$",
    r"^/api/v1/provider-keys(/.*)?$",
)
ADMIN_OPS = [
    p
    for p in OPERATIONS
    if not isinstance(p.values[1], Op)
    or (
        p.values[1].method in WRITES and any(re.match(r, p.values[1].template) for r in _ADMIN_ONLY)
    )
]


def _op(service: str, op: Op | Exception) -> Op:
    if isinstance(op, Exception):
        raise AssertionError(f"{service}: create_app/openapi failed: {op!r}") from op
    return op


async def _call(
    served: Served, op: Op, path: str, headers: dict[str, str], body: Any = None
) -> Any:
    return await served.http.request(
        op.method,
        path,
        headers=headers,
        params=dict(op.query),
        json=body if op.has_body else None,
    )


def _code(reply: Any) -> str | None:
    try:
        error = reply.json().get("error") or {}
    except ValueError:
        return None
    return error.get("code") if isinstance(error, dict) else None


@pytest.mark.parametrize(("service", "op"), OPERATIONS)
async def test_a_request_without_a_token_is_refused_with_401_and_a_code(
    service: str, op: Op, system: dict[str, Served], world: World
) -> None:
    op = _op(service, op)
    path, _ = fill(op, world.owned.get(service, {}))
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic eDp5"}):
        reply = await _call(
            system[service], op, path, headers, body_for(op.method, op.template, world.ctx)
        )
        assert reply.status_code == 401, f"{op.id} with {headers or 'no token'}: {reply.text}"
        assert _code(reply), f"{op.id}: 401 without an error code: {reply.text}"
        assert not world.leaked(reply.text), reply.text


@pytest.mark.parametrize(("service", "op"), ITEM_OPS)
async def test_another_org_gets_404_or_403_on_every_item_and_never_data(
    service: str, op: Op, system: dict[str, Served], world: World
) -> None:
    op = _op(service, op)
    owned = world.owned.get(service, {})
    path, used = fill(op, owned)
    served, body = system[service], body_for(op.method, op.template, world.ctx)
    if not used:
        _no_fixture_failed(service, op, world)
        # No object of A here: random ids must name nothing, for A as for anyone.
        reply = await _call(served, op, path, world.a.admin, body)
        assert reply.status_code in (403, 404), f"{op.id} random id {path}: {reply.text}"
        assert _code(reply), reply.text
        return
    b = world.b
    named = _named(service, op, world)
    for who, headers in (
        ("admin", b.admin),
        ("viewer", b.viewer),
        ("member", b.member(f"m-{b.tag}")),
        ("service", b.service),
    ):
        reply = await _call(served, op, path, headers, body)
        assert not world.leaked(reply.text, set(used)), f"{who}: {reply.text[:800]}"
        if named:  # B acts on its own object of that name; A's must stay as it was
            assert reply.status_code < 500, f"org B {who} on {path}: {reply.text[:800]}"
            continue
        assert reply.status_code in (403, 404), (
            f"org B {who} on org A's {path}: {reply.status_code} {reply.text[:800]}"
        )
        assert _code(reply), reply.text
    if named:
        await _named_intact(served, op, world)


def _named(service: str, op: Op, world: World) -> bool:
    segments = op.template.split("/")
    return any(
        (service, "/".join(segments[:i])) in world.named
        for i, s in enumerate(segments)
        if s.startswith("{")
    )


async def _named_intact(served: Served, op: Op, world: World) -> None:
    """Org A's list of that collection still shows A's object as A made it."""
    collection = op.template.split("/{")[0]
    reply = await served.http.get(collection, headers=world.a.admin)
    assert reply.status_code == 200, reply.text
    assert f"...{world.ctx.provider_key[-4:]}" in reply.text, (
        f"org A's object changed: {reply.text}"
    )


def _no_fixture_failed(service: str, op: Op, world: World) -> None:
    segments = op.template.split("/")
    for i, segment in enumerate(segments):
        collection = "/".join(segments[:i])
        if segment.startswith("{") and (service, collection) in world.failures:
            pytest.fail(
                f"org A's {collection} object could not be made, so {op.id} was not checked "
                f"against a real object: {world.failures[(service, collection)]}"
            )


def _filters_aimed_at_a(op: Op, world: World) -> dict[str, str]:
    """Every optional `*_id` filter of a list, set to one of org A's ids (or A's org)."""
    owned = {
        k.rsplit("/", 1)[-1].rstrip("s"): v for s in world.owned.values() for k, v in s.items()
    }  # "budgets" -> budget_id, ...
    aims = {
        "org_id": world.a.id,
        "project_id": f"proj-{world.a.tag}",
        "user_id": world.ctx.member_x,
        "entity_id": world.ctx.member_x,
    }
    found = {}
    for name in op.optional:
        if name in aims:
            found[name] = aims[name]
        elif name.endswith("_id") and name[:-3] in owned:
            found[name] = owned[name[:-3]]
    return found


@pytest.mark.parametrize(("service", "op"), LIST_OPS)
async def test_another_orgs_lists_show_nothing_of_org_a(
    service: str, op: Op, system: Any, world: World
) -> None:
    """B's lists, plain and with every filter aimed at A's objects (and an `org_id` slipped
    in), hold nothing of A's; org headers a proxy might trust change nothing either."""
    op = _op(service, op)
    b, aimed = world.b, {**_filters_aimed_at_a(op, world), "org_id": world.a.id}
    spoof = {"X-Org-Id": world.a.id, "X-Rex-On-Behalf-Of": world.ctx.member_x}
    for who, headers in (
        ("admin", b.admin),
        ("viewer", b.viewer),
        ("member", b.member(f"m-{b.tag}")),
    ):
        for params in ({}, aimed):
            reply = await system[service].http.get(
                op.template, headers={**headers, **spoof}, params={**dict(op.query), **params}
            )
            assert reply.status_code < 500, f"org B {who}: {reply.status_code} {reply.text[:800]}"
            leaked = world.leaked(reply.text, set(params.values()))
            assert not leaked, f"org B {who} {params} sees org A's {leaked}: {reply.text[:800]}"


@pytest.mark.parametrize(("service", "op"), ADMIN_OPS)
async def test_members_viewers_and_services_cannot_change_what_only_admins_may(
    service: str, op: Op, system: dict[str, Served], world: World
) -> None:
    op = _op(service, op)
    path, used = fill(op, world.owned.get(service, {}))
    if op.path_params and not used:
        _no_fixture_failed(service, op, world)
    a, body = world.a, body_for(op.method, op.template, world.ctx)
    # A service token (another REX service acting for the org) is no admin either.
    for who, headers in (
        ("member", a.member(world.ctx.member_x)),
        ("viewer", a.viewer),
        ("service", a.service),
    ):
        reply = await _call(system[service], op, path, headers, body)
        assert reply.status_code == 403, f"org A {who} {op.method} {path}: {reply.text[:800]}"
        assert _code(reply) == "FORBIDDEN", reply.text


@pytest.mark.parametrize(("service", "op"), GET_ITEM_OPS)
async def test_org_a_still_owns_its_objects_unchanged(
    service: str, op: Op, system: dict[str, Served], world: World
) -> None:
    """After everything B, members and viewers tried: A's admin reads each object intact
    (a path without an object of A's names nothing, for A too)."""
    op = _op(service, op)
    path, used = fill(op, world.owned.get(service, {}))
    reply = await _call(system[service], op, path, world.a.admin)
    if not used:
        assert reply.status_code == 404, f"random id {path}: {reply.status_code} {reply.text}"
        return
    assert reply.status_code == 200, f"org A admin {path}: {reply.status_code} {reply.text}"
    assert f"hijacked-{world.a.tag}" not in reply.text, pretty(reply.json())


async def test_an_org_admin_cannot_set_a_public_price_for_every_org(
    system: Any, world: World
) -> None:
    body = {
        **body_for("POST", "/api/v1/costs/pricing", world.ctx),
        "scope": "public",
        "effective_from": "2024-02-01T00:00:00Z",
    }
    reply = await system["cost-ledger"].http.post(
        "/api/v1/costs/pricing", headers=world.b.admin, json=body
    )
    assert reply.status_code == 403, reply.text


async def test_another_orgs_negotiated_price_does_not_change_what_org_a_pays(
    system: Any, world: World
) -> None:
    ledger = system["cost-ledger"]
    estimate = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "usage": {"input_tokens": 1_000_000, "output_tokens": 1_000_000},
    }
    before = await ledger.http.post("/api/v1/costs/estimate", headers=world.a.admin, json=estimate)
    assert before.status_code == 200, before.text
    price = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "effective_from": "2024-03-01T00:00:00Z",
        "rates": {"input": "9", "output": "9"},
        "note": f"secB-{world.b.tag}",
    }
    made = await ledger.http.post("/api/v1/costs/pricing", headers=world.b.admin, json=price)
    assert made.status_code == 201, made.text
    after = await ledger.http.post("/api/v1/costs/estimate", headers=world.a.admin, json=estimate)
    assert after.json()["data"]["total_cost"] == before.json()["data"]["total_cost"]
    listed = await ledger.http.get(
        "/api/v1/costs/pricing",
        headers=world.a.admin,
        params={"provider": "openai", "model": "gpt-4o-mini"},
    )
    assert f"secB-{world.b.tag}" not in listed.text and world.b.id not in listed.text


POST_COLLECTION_OPS = [
    p
    for p in OPERATIONS
    if not isinstance(p.values[1], Op)
    or (p.values[1].method == "POST" and not p.values[1].path_params and p.values[1].has_body)
]


def _aimed_at_a(body: Any, world: World) -> Any:
    """B's body, pointed at org A: A's project, member and org in every field that names one."""
    if not isinstance(body, dict):
        return body
    aims = {
        "project_id": f"proj-{world.a.tag}",
        "user_id": world.ctx.member_x,
        "entity_id": world.ctx.member_x,
        "org_id": world.a.id,
    }
    return {**body, **{k: v for k, v in aims.items() if k in body}}


@pytest.mark.parametrize(("service", "op"), POST_COLLECTION_OPS)
async def test_another_orgs_writes_aimed_at_org_a_reveal_and_touch_nothing_of_it(
    service: str, op: Op, system: Any, world: World
) -> None:
    """B posts to every collection with bodies naming A's project, member and org (and an
    `org_id` field slipped in): the replies show nothing of A and nothing lands in A."""
    op = _op(service, op)
    ctx_b = type(world.ctx)(world.b, world.ctx.member_x, world.ctx.member_y, world.ctx.webhook_url)
    body = _aimed_at_a(body_for(op.method, op.template, ctx_b), world)
    served = system[service]
    for headers in (world.b.admin, world.b.service):
        for sent in (body, {**body, "org_id": world.a.id} if isinstance(body, dict) else body):
            reply = await _call(served, op, op.template, headers, sent)
            assert reply.status_code < 500, f"{op.id}: {reply.status_code} {reply.text[:800]}"
            assert not world.leaked(reply.text), f"{op.id} shows org A: {reply.text[:800]}"
    for collection in {
        o.template
        for o in operations(service, served.openapi)
        if o.method == "GET" and not o.path_params and not o.query
    }:
        seen = await served.http.get(collection, headers=world.a.admin)
        assert f"secA-{world.b.tag}" not in seen.text, f"B's object in A's {collection}"


async def test_another_org_cannot_evaluate_or_estimate_org_a_dataset(
    system: Any, world: World
) -> None:
    dataset = world.owned.get("evaluator", {}).get("/api/v1/datasets")
    assert dataset, f"org A's dataset was not made: {world.failures}"
    body = {"project_id": f"proj-{world.b.tag}", "metrics": ["faithfulness"], "dataset_id": dataset}
    for path in ("/api/v1/evaluations/estimate", "/api/v1/evaluations"):
        reply = await system["evaluator"].http.post(path, headers=world.b.admin, json=body)
        assert reply.status_code in (404, 422), f"{path} on A's dataset: {reply.text[:800]}"
        assert not world.leaked(reply.text, {dataset}), reply.text[:800]


def _with_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, dict):
        return {k: _with_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_nul(v) for v in value]
    return value


TEXT_INPUT_OPS = [
    p
    for p in OPERATIONS
    if not isinstance(p.values[1], Op)
    or p.values[1].optional
    or p.values[1].query
    or p.values[1].path_params
    or p.values[1].has_body
]


@pytest.mark.parametrize(("service", "op"), TEXT_INPUT_OPS)
async def test_a_nul_character_in_any_input_is_a_4xx_with_a_code(
    service: str, op: Op, system: Any, world: World
) -> None:
    """PostgreSQL text cannot hold NUL: in a path, a parameter or a body it must be refused
    with a 4xx, never reach a query as a 500."""
    op = _op(service, op)
    path, _ = fill(op, world.owned.get(service, {}))
    body = body_for(op.method, op.template, world.ctx)
    required = dict(op.query)
    sends = []  # (path, query, body): each with NUL in one place
    if op.optional or op.query:
        params = {name: "x\x00" for name in op.optional} | {k: v + "\x00" for k, v in op.query}
        sends.append((path, params, _with_nul(body)))
    if op.has_body and _with_nul(body) != body:
        sends.append((path, required, _with_nul(body)))
    if op.path_params:
        sends.append((path + "%00", required, _with_nul(body)))
    assert sends, f"{op.id}: its body table entry has no text field to put a NUL in"
    for where, query, sent in sends:
        reply = await system[service].http.request(
            op.method,
            where,
            headers=world.a.admin,
            params=query,
            json=sent if op.has_body else None,
        )
        assert 400 <= reply.status_code < 500, f"{op.id} {where} {query}: {reply.text[:600]}"
        assert _code(reply), reply.text


# Writes with no side effect (a quote, a check): reading them is what a viewer does.
_PURE = (r"/estimate$", r"/check$")
VIEWER_WRITE_OPS = [
    p
    for p in OPERATIONS
    if not isinstance(p.values[1], Op)
    or (p.values[1].method in WRITES and not any(re.search(r, p.values[1].template) for r in _PURE))
]


@pytest.mark.parametrize(("service", "op"), VIEWER_WRITE_OPS)
async def test_a_viewer_reads_but_changes_nothing(
    service: str, op: Op, system: Any, world: World
) -> None:
    op = _op(service, op)
    path, used = fill(op, world.owned.get(service, {}))
    if op.path_params and not used:
        _no_fixture_failed(service, op, world)
    body = body_for(op.method, op.template, world.ctx)
    reply = await _call(system[service], op, path, world.a.viewer, body)
    assert reply.status_code == 403, f"org A viewer {op.method} {path}: {reply.text[:800]}"
    assert _code(reply) == "FORBIDDEN", reply.text
