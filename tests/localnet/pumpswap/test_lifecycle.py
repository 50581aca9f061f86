"""A coin's whole life through the official SDKs on a running localnet: `create_v2` on the curve,
buys until the curve completes (`CompleteEvent`), pump's `migrate` (the SDK's builder) creates the
canonical PumpSwap pool (`CreatePoolEvent`, `CompletePumpAmmMigrationEvent`), then
`OnlinePumpAmmSdk` reads the pool over localnet's RPC and its buy and sell land at its own price.
Then the same through the control API (`/pump/{mint}/graduate`, `/pumpswap/{mint}`)."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest
from pump.helpers import build, create_v2, send, token_balance
from pump.oracle import Oracle
from solders.transaction import VersionedTransaction

from localnet.encoding import TOKEN_2022_PROGRAM_ID
from localnet.market.instructions import associated_token_address
from localnet.pump import state as pump_state
from localnet.pumpswap import state
from localnet.testing import running_localnet

from .helpers import SOL, Graduated, funded, swap_state


def _events(oracle: Oracle, logs: tuple[str, ...]) -> list[str]:
    data = [x.removeprefix("Program data: ") for x in logs if x.startswith("Program data: ")]
    return [e["name"] for e in oracle({"op": "amm_decode", "events": data})["events"]]


@pytest.mark.timeout(300)
async def test_launch_complete_migrate_and_trade_through_the_sdks(oracle: Oracle) -> None:
    async with running_localnet(seed=61) as net:
        assert net.urls is not None
        rpc = net.urls.rpc[next(iter(net.urls.rpc))]["http"]
        c = net.cluster
        coin = create_v2(oracle, c, funded(c, 10), name="Life")
        mint = coin.mint.pubkey()
        early, whale = funded(c, 100), funded(c, 200)

        def buy(user: Any, tokens: int, max_sol: int) -> tuple[str, ...]:
            u = str(user.pubkey())
            tx = build(oracle, c, user, [
                {"kind": "ata", "owner": u, "mint": coin.address},
                {"kind": "buy_v2_raw", "user": u, "mint": coin.address,
                 "creator": str(coin.creator.pubkey()), "amount": str(tokens),
                 "quoteAmount": str(max_sol)},
            ])  # fmt: skip
            outcome = send(c, tx)
            assert outcome.err is None, outcome.logs[-5:]
            return outcome.logs

        buy(early, 10**13, 2 * SOL)
        left = _curve(c, mint)["real_token_reserves"]
        logs = buy(whale, left, 150 * SOL)  # the buy that empties the curve
        assert "completeEvent" in _events(oracle, logs)
        assert _curve(c, mint)["complete"] is True

        migrator = funded(c, 10)
        tx = build(oracle, c, migrator, [
            {"kind": "compute_unit_limit", "units": 400_000},
            {"kind": "migrate", "withdrawAuthority": str(pump_state.AUTHORITY),
             "mint": coin.address, "user": str(migrator.pubkey())},
        ])  # fmt: skip
        outcome = send(c, tx)
        assert outcome.err is None, outcome.logs[-8:]
        names = _events(oracle, outcome.logs)
        assert "createPoolEvent" in names
        assert "completePumpAmmMigrationEvent" in names
        assert f"Program {state.PUMP_AMM_PROGRAM_ID} invoke [2]" in outcome.logs
        pool = state.canonical_pool_address(mint)
        g = Graduated(c, mint, coin.creator)
        fields = g.fields()
        curve_left = _curve(c, mint)
        assert curve_left["real_quote_reserves"] == 0
        # the SDK reads the pool over RPC: what localnet's accounts say
        fetched = await oracle.run({"op": "amm_fetch", "rpc": rpc, "pool": str(pool),
                                    "user": str(whale.pubkey())})  # fmt: skip
        assert fetched["pool"]["coinCreator"] == str(coin.creator.pubkey())
        assert int(fetched["poolBaseAmount"]) == token_balance(c, fields["pool_base_token_account"])
        assert int(fetched["poolQuoteAmount"]) == token_balance(
            c, fields["pool_quote_token_account"])  # fmt: skip
        assert int(fetched["poolBaseAmount"]) == pump_state.TOKEN_TOTAL_SUPPLY - (
            pump_state.INITIAL_REAL_TOKEN_RESERVES)  # fmt: skip

        # trade on PumpSwap with the SDK's online builders (it fetches everything over RPC)
        trader = funded(c, 50)
        t = str(trader.pubkey())
        quote = oracle({"op": "amm_quote", "state": swap_state(g, trader.pubkey()),
                        "buyQuote": str(3 * SOL), "slippage": 1})  # fmt: skip
        built = await oracle.run({
            "op": "tx", "rpc": rpc, "blockhash": str(c.latest_blockhash()), "payer": t,
            "signers": [base64.b64encode(bytes(trader)).decode()],
            "instructions": [{"kind": "amm_buy_quote", "pool": str(pool), "user": t,
                              "quote": str(3 * SOL), "slippage": 1}],
        })  # fmt: skip
        outcome = send(c, VersionedTransaction.from_bytes(base64.b64decode(built["transaction"])))
        assert outcome.err is None, outcome.logs[-8:]
        ata = associated_token_address(trader.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
        held = token_balance(c, ata)
        assert held == int(quote["buyQuote"]["base"])
        sell_quote = oracle({"op": "amm_quote", "state": swap_state(g, trader.pubkey()),
                             "sellBase": str(held), "slippage": 1})  # fmt: skip
        before = c.get_balance(trader.pubkey())
        built = await oracle.run({
            "op": "tx", "rpc": rpc, "blockhash": str(c.latest_blockhash()), "payer": t,
            "signers": [base64.b64encode(bytes(trader)).decode()],
            "instructions": [{"kind": "amm_sell_base", "pool": str(pool), "user": t,
                              "base": str(held), "slippage": 1}],
        })  # fmt: skip
        outcome = send(c, VersionedTransaction.from_bytes(base64.b64decode(built["transaction"])))
        assert outcome.err is None, outcome.logs[-8:]
        assert token_balance(c, ata) == 0
        received = c.get_balance(trader.pubkey()) - before + outcome.fee
        assert received == int(sell_quote["sellBase"]["uiQuote"])
        assert "sellEvent" in _events(oracle, outcome.logs)


async def test_control_routes_graduate_and_trade_on_pumpswap() -> None:
    async with running_localnet(seed=62) as net, aiohttp.ClientSession() as http:
        assert net.urls is not None
        control = net.urls.control
        async with http.post(f"{control}/pump/launch",
                             json={"name": "Grad", "symbol": "GRAD"}) as resp:  # fmt: skip
            assert resp.status == 201, await resp.text()
            mint = (await resp.json())["mint"]
        async with http.get(f"{control}/pumpswap/{mint}") as resp:
            assert resp.status == 404  # no pool before graduation
        async with http.post(f"{control}/pump/{mint}/graduate", json={}) as resp:
            assert resp.status == 200, await resp.text()
            graduated = await resp.json()
        async with http.get(f"{control}/pumpswap/{mint}") as resp:
            pool = await resp.json()
        assert pool["pool"] == graduated["pool"]
        assert pool["base_mint"] == mint
        assert pool["base_reserve"] == 206_900_000_000_000
        async with http.post(
            f"{control}/pumpswap/{mint}/trade",
            json={"side": "buy", "lamports": SOL, "trader_index": 3},
        ) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["tokens"] > 0
        async with http.post(
            f"{control}/pumpswap/{mint}/trade", json={"side": "sell", "trader_index": 3}
        ) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["tokens"] == 0
        async with http.get(f"{control}/pump/{mint}") as resp:
            assert (await resp.json())["complete"] is True


def _curve(c: Any, mint: Any) -> dict[str, Any]:
    acc = c.get_account(pump_state.bonding_curve_address(mint))
    fields = pump_state.decode_account("BondingCurve", pump_state.BONDING_CURVE_LAYOUT,
                                       bytes(acc.data))  # fmt: skip
    assert fields is not None
    return fields
