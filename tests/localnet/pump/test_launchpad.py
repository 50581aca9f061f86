"""Launching on the curve and trading as other wallets (Python API and control routes): real
transactions whose instructions the SDK decodes the same way as its own."""

from __future__ import annotations

import aiohttp
import pytest
from solders.signature import Signature

from localnet import pump
from localnet.cluster import Cluster
from localnet.pump import state
from localnet.pump.launchpad import LaunchError, PumpLaunchpad
from localnet.testing import running_localnet

from .helpers import SOL, funded
from .oracle import Oracle, b64


def test_launch_with_dev_buy_then_another_wallet_buys_and_sells(oracle: Oracle) -> None:
    cluster = Cluster(seed=31, slot_ms=None)
    pump.install(cluster)
    pad = PumpLaunchpad(cluster, seed=31)
    creator, trader = funded(cluster, 10), funded(cluster, 10)
    launch = pad.launch(creator, name="Moon", symbol="MOON", dev_buy_lamports=SOL)
    assert launch.dev_tokens > 0
    assert pad.token_balance(launch.mint, creator.pubkey()) == launch.dev_tokens
    curve = cluster.get_account(launch.bonding_curve)
    assert curve is not None
    # the SDK prices a buy of the same size on the curve after the dev buy exactly as we do
    global_, fee_config = cluster.get_account(state.GLOBAL), cluster.get_account(state.FEE_CONFIG)
    assert global_ is not None
    assert fee_config is not None
    quote = oracle({
        "op": "quote", "global": b64(bytes(global_.data)), "feeConfig": b64(bytes(fee_config.data)),
        "bondingCurve": b64(bytes(curve.data)), "mintSupply": str(state.TOKEN_TOTAL_SUPPLY),
        "buySol": str(SOL // 10),
    })  # fmt: skip
    assert pad.quote_buy(launch.mint, SOL // 10) == int(quote["buyTokens"])
    pad.buy(launch.mint, trader, lamports=SOL // 10)
    held = pad.token_balance(launch.mint, trader.pubkey())
    assert held == int(quote["buyTokens"])
    pad.sell(launch.mint, trader, tokens=held)
    assert pad.token_balance(launch.mint, trader.pubkey()) == 0
    with pytest.raises(LaunchError) as failed:
        pad.sell(launch.mint, trader, tokens=1)
    assert failed.value.err == {"InstructionError": [1, {"Custom": 1}]}  # SPL InsufficientFunds


async def test_control_routes_launch_and_trade() -> None:
    async with running_localnet(seed=32) as net, aiohttp.ClientSession() as http:
        assert net.urls is not None
        control = net.urls.control
        async with http.post(f"{control}/pump/launch", json={
            "name": "Moon", "symbol": "MOON", "dev_buy_lamports": SOL,
        }) as resp:  # fmt: skip
            assert resp.status == 201, await resp.text()
            launched = await resp.json()
        mint = launched["mint"]
        async with http.post(
            f"{control}/pump/{mint}/trade",
            json={"side": "buy", "lamports": SOL // 2, "trader_index": 1},
        ) as resp:
            assert resp.status == 200, await resp.text()
            bought = await resp.json()
        assert bought["tokens"] > 0
        async with http.post(
            f"{control}/pump/{mint}/trade", json={"side": "sell", "trader_index": 1}
        ) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["tokens"] == 0
        async with http.get(f"{control}/pump/{mint}") as resp:
            curve = await resp.json()
        assert curve["creator"] == launched["creator"]
        assert curve["complete"] is False
        tx = net.cluster.history.get(Signature.from_string(bought["signature"]))
        assert tx is not None
        assert "Program log: Instruction: BuyV2" in tx.logs
