"""Members read only their own evaluations, costs, budgets and alerts (issue 3, role `member`).

Member X of org A submitted an evaluation, paid for a judge call (costs, via the ledger), has a
user budget (entity_id = X) that the call pushed over its threshold (an alert). Member Y of the
same org gets 404 on each of X's objects and finds none of them in any list or summary, on every
GET of the three services that hold them (derived from the OpenAPI documents); X, viewers and
admins do see them.
"""

import contextlib
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from sec_apps import Served
from sec_openapi import Op, fill, offline_spec, operations
from sec_world import World, data_of, ids_in

MEMBER_SERVICES = ("evaluator", "cost-ledger", "budget")


def _get_ops() -> list[Any]:
    found: list[Any] = []
    for service in MEMBER_SERVICES:
        try:
            ops = operations(service, offline_spec(service))
        except Exception as exc:
            found.append(pytest.param(service, exc, id=f"{service} cannot build its app"))
            continue
        found += [pytest.param(service, o, id=o.id) for o in ops if o.method == "GET"]
    return found


def _x_markers(world: World) -> set[str]:
    return {world.ctx.member_x, *world.mine.values()}


def _need(world: World, kind: str) -> str:
    if kind not in world.mine:
        relevant = {
            k: v for k, v in world.failures.items() if kind in " ".join(k) or k[0] == "world"
        }
        pytest.fail(f"member X's {kind} could not be made: {relevant or world.failures}")
    return world.mine[kind]


@pytest.mark.parametrize(("service", "op"), _get_ops())
async def test_a_member_sees_nothing_of_another_member_on_any_read(
    service: str, op: Op | Exception, system: Any, world: World
) -> None:
    if isinstance(op, Exception):
        raise AssertionError(f"{service}: {op!r}")
    _need(world, "costs")
    path, used = fill(op, world.owned.get(service, {}))
    aimed = {n: world.ctx.member_x for n in op.optional if n in ("user_id", "entity_id")}
    y = world.a.member(world.ctx.member_y)
    # Plain, with filters naming X, and with the audit header a service token would send.
    for headers, params in (
        (y, {}),
        (y, aimed),
        ({**y, "X-Rex-On-Behalf-Of": world.ctx.member_x}, {}),
    ):
        reply = await system[service].http.get(
            path, headers=headers, params={**dict(op.query), **params}
        )
        assert reply.status_code < 500, reply.text
        leaked = sorted(
            m for m in _x_markers(world) - set(used) - set(params.values()) if m in reply.text
        )
        assert not leaked, f"member Y {params} sees member X's {leaked}: {reply.text[:800]}"


async def _status(served: Served, path: str, headers: dict[str, str]) -> int:
    return (await served.http.get(path, headers=headers)).status_code


@pytest.mark.parametrize(
    ("service", "kind", "template"),
    [
        ("evaluator", "evaluation", "/api/v1/evaluations/{}"),
        ("cost-ledger", "costs", "/api/v1/costs/evaluations/{}"),
        ("budget", "budget", "/api/v1/budgets/{}"),
    ],
)
async def test_another_members_object_is_404_while_its_owner_and_viewers_read_it(
    service: str, kind: str, template: str, system: Any, world: World
) -> None:
    served, a, ctx = system[service], world.a, world.ctx
    path = template.format(_need(world, kind))
    assert await _status(served, path, a.member(ctx.member_y)) == 404
    assert await _status(served, path, a.member(ctx.member_x)) == 200
    assert await _status(served, path, a.viewer) == 200
    assert await _status(served, path, a.admin) == 200


@pytest.mark.parametrize(
    ("service", "kind", "collection"),
    [
        ("evaluator", "evaluation", "/api/v1/evaluations"),
        ("budget", "budget", "/api/v1/budgets"),
        ("budget", "alert", "/api/v1/budgets/alerts"),
    ],
)
async def test_lists_hold_a_members_objects_for_them_and_not_for_another_member(
    service: str, kind: str, collection: str, system: Any, world: World
) -> None:
    served, a, ctx, ident = system[service], world.a, world.ctx, _need(world, kind)
    assert ident in ids_in(await data_of(served.http, collection, a.member(ctx.member_x)))
    assert ident in ids_in(await data_of(served.http, collection, a.viewer))
    assert ident not in ids_in(await data_of(served.http, collection, a.member(ctx.member_y)))


async def test_a_member_cannot_acknowledge_another_members_alert(system: Any, world: World) -> None:
    alert, a = _need(world, "alert"), world.a
    reply = await system["budget"].http.post(
        f"/api/v1/budgets/alerts/{alert}/acknowledge", headers=a.member(world.ctx.member_y)
    )
    assert reply.status_code == 404, reply.text


def _amounts(value: Any, inside: bool = False) -> list[Decimal]:
    """Every amount under a key that names a cost or total."""
    found: list[Decimal] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _amounts(v, inside or "cost" in k or "total" in k)
    elif isinstance(value, list):
        for v in value:
            found += _amounts(v, inside)
    elif inside and isinstance(value, str | int | float) and not isinstance(value, bool):
        with contextlib.suppress(InvalidOperation):  # a date or a name under a "cost" key
            found.append(Decimal(str(value)))
    return found


async def test_a_members_cost_summary_counts_only_their_own_calls(
    system: Any, world: World
) -> None:
    _need(world, "costs")
    ledger, a, ctx = system["cost-ledger"], world.a, world.ctx
    params = {"period": "month"}
    own = await data_of(ledger.http, "/api/v1/costs/summary", a.member(ctx.member_x), **params)
    other = await data_of(ledger.http, "/api/v1/costs/summary", a.member(ctx.member_y), **params)
    assert own is not None and other is not None, "GET /api/v1/costs/summary?period=month failed"
    assert any(v > 0 for v in _amounts(own)), f"member X's own summary shows no cost: {own}"
    assert all(v == 0 for v in _amounts(other)), f"member Y's summary shows X's cost: {other}"
