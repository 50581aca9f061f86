"""The market half of the control API over HTTP."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from localnet.cluster import Cluster
from localnet.launches import ScenarioEngine, register_control_routes
from localnet.market import Market
from localnet.telegram import FakeTelegram
from localnet.tokens import TokenFactory


async def test_tokens_and_telegram_control_routes(cluster: Cluster, market: Market) -> None:
    factory = TokenFactory(cluster, market)
    engine = ScenarioEngine(cluster, market, factory, seed=1)
    engine.add_traders(1)
    fake = FakeTelegram()
    app = web.Application()
    register_control_routes(app, market=market, factory=factory, engine=engine, telegram=fake)
    async with TestClient(TestServer(app)) as c:
        resp = await c.post(
            "/tokens", json={"kind": "freeze_authority", "liquidity_sol": 5, "announce": "raydium"}
        )
        assert resp.status == 201
        token = await resp.json()
        assert set(token) == {"mint", "pool", "creator", "kind", "token_program"}
        listed = await (await c.get("/tokens")).json()
        assert [t["kind"] for t in listed] == ["freeze_authority"]
        traded = await c.post(f"/tokens/{token['mint']}/trade", json={"amount": 10**8})
        assert traded.status == 200
        assert (await traded.json())["err"] is None
        frozen = await (await c.post(f"/tokens/{token['mint']}/freeze")).json()
        assert frozen == {"frozen": 1}
        bad = await c.post("/tokens", json={"kind": "transfer_fee", "token_program": "spl-token"})
        assert bad.status == 400
        assert "token-2022" in (await bad.json())["error"]
        sent = await c.post("/telegram/users/42/messages", json={"text": "/start"})
        assert (await sent.json())["message"]["text"] == "/start"
        fake.bot_message(42, "card", {"inline_keyboard": [[{"text": "b", "callback_data": "d"}]]})
        fake.bot_message(42, "plain")
        inbox = await (await c.get("/telegram/users/42/inbox")).json()
        assert [m["text"] for m in inbox] == ["card", "plain"]
        assert inbox[0]["reply_markup"] == {
            "inline_keyboard": [[{"text": "b", "callback_data": "d"}]]
        }
        assert inbox[1]["reply_markup"] is None
        assert [m["edited"] for m in inbox] == [False, False]
        press = await c.post(
            "/telegram/users/42/press", json={"message_id": inbox[0]["message_id"], "data": "d"}
        )
        assert (await press.json())["callback_query"]["data"] == "d"
