"""A Raydium v4 pool announcement is the real `initialize2` transaction (issue 13): signed by the
token's creator, its `initialize2:` and `ray_log:` log lines as mainnet writes them, the pool's
vaults real token accounts of the AMM authority holding what the InitLog says, the LP minted
(and burned by an honest creator) from a real LP mint; the bot's `RaydiumV4Listener` detects the
pool from the program notification the transaction causes. Before this the announcement was an
account write with no transaction, a SOL "vault" that was a system account and no LP mint."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import base58
import pytest
from solders.pubkey import Pubkey

from localnet.encoding import mint_fields, token_account_fields
from localnet.launches import raydium
from localnet.launches.raydium_program import AMM_AUTHORITY, pool_addresses
from localnet.market import instructions as ix
from localnet.node import Localnet
from localnet.testing import running_localnet
from sniper_bot.chain.ws import Notification
from sniper_bot.detection import RaydiumV4Listener

CONFIRMED = {"commitment": "confirmed", "maxSupportedTransactionVersion": 0}


@pytest.fixture
async def net() -> AsyncIterator[Localnet]:
    async with running_localnet(seed=53) as localnet:
        yield localnet


async def call(http: aiohttp.ClientSession, net: Localnet, method: str, *params: Any) -> Any:
    assert net.urls is not None
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    async with http.post(net.urls.rpc["helius"]["http"], json=body) as response:
        reply: dict[str, Any] = await response.json()
    assert "error" not in reply, reply
    return reply["result"]


def amount(net: Localnet, key: Pubkey) -> int:
    account = net.cluster.get_account(key)
    assert account is not None
    return token_account_fields(bytes(account.data))[2]


async def test_raydium_pool_is_a_real_initialize2_and_the_bot_detects_it(net: Localnet) -> None:
    assert net.urls is not None
    async with aiohttp.ClientSession() as http, http.ws_connect(net.urls.rpc["helius"]["ws"]) as ws:
        # what RaydiumV4Listener subscribes to
        await ws.send_json({"jsonrpc": "2.0", "id": 1, "method": "programSubscribe", "params": [
            str(raydium.RAYDIUM_AMM_V4),
            {"encoding": "base64", "commitment": "processed", "filters": [{"dataSize": 752}]},
        ]})  # fmt: skip
        sub = json.loads((await ws.receive()).data)["result"]
        info = net.engine.launch("honest", announce="raydium")
        note = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
        assert note["params"]["subscription"] == sub
        result = note["params"]["result"]
        event = RaydiumV4Listener().decode(
            Notification("launch:raydium_v4", "programNotification", "helius",
                         result["context"]["slot"], result["value"]),
            0.0,
        )  # fmt: skip
        assert event is not None
        assert (event.source, event.mint) == ("raydium_v4", str(info.mint))
        amm_key = Pubkey.from_string(event.pool)
        account = net.cluster.get_account(amm_key)
        assert account is not None
        amm = raydium.decode_amm_info(bytes(account.data))
        assert pool_addresses(amm.market_id).amm == amm_key  # the program's PDA
        net.cluster.advance_slots(1)
        # the transaction that made it
        (entry,) = await call(http, net, "getSignaturesForAddress", str(amm_key),
                              {"commitment": "confirmed"})  # fmt: skip
        tx = await call(http, net, "getTransaction", entry["signature"],
                        {**CONFIRMED, "encoding": "jsonParsed"})  # fmt: skip
    meta, message = tx["meta"], tx["transaction"]["message"]
    assert meta["err"] is None
    assert message["accountKeys"][0] == {"pubkey": str(amm.owner), "signer": True,
                                         "source": "transaction", "writable": True}  # fmt: skip
    init_index, init = next(
        (i, x) for i, x in enumerate(message["instructions"])
        if x["programId"] == str(raydium.RAYDIUM_AMM_V4)
    )  # fmt: skip
    data = base58.b58decode(init["data"])
    tag, nonce, open_time, pc_in, coin_in = struct.unpack("<BBQQQ", data)
    assert (tag, len(init["accounts"])) == (1, 21)
    assert init["accounts"][4] == str(amm_key)
    assert init["accounts"][5] == str(AMM_AUTHORITY)
    assert init["accounts"][10] == str(amm.base_vault)
    assert init["accounts"][11] == str(amm.quote_vault)
    logs = meta["logMessages"]
    assert (
        f"Program log: initialize2: InitializeInstruction2 {{ nonce: {nonce}, open_time: "
        f"{open_time}, init_pc_amount: {pc_in}, init_coin_amount: {coin_in} }}"
    ) in logs
    (ray_log,) = [line.split("ray_log: ")[1] for line in logs if "ray_log: " in line]
    raw = base64.b64decode(ray_log)
    kind, time, pc_dec, coin_dec, _, _, pc_amount, coin_amount = struct.unpack_from(
        "<BQBBQQQQ", raw
    )
    assert (kind, time, pc_dec, coin_dec) == (0, open_time, 9, amm.base_decimal)
    assert Pubkey.from_bytes(raw[43:75]) == amm.market_id
    # the vaults are token accounts of the authority holding what the InitLog reports
    for vault, mint, held in ((amm.base_vault, info.mint, coin_amount),
                              (amm.quote_vault, ix.WSOL_MINT, pc_amount)):  # fmt: skip
        vault_account = net.cluster.get_account(vault)
        assert vault_account is not None
        got_mint, owner, balance, _ = token_account_fields(bytes(vault_account.data))
        assert (got_mint, owner, balance) == (mint, AMM_AUTHORITY, held)
    assert (pc_amount, coin_amount) == (pc_in, coin_in)  # no transfer fee on this kind
    assert amm.lp_reserve == math.isqrt(pc_amount * coin_amount)
    # the deposits and the LP mint are real CPIs of the initialize2 instruction
    inner = next(g for g in meta["innerInstructions"] if g["index"] == init_index)
    kinds = [(x.get("program"), x.get("parsed", {}).get("type")) for x in inner["instructions"]]
    assert kinds.count(("spl-token", "transferChecked")) == 2
    assert ("spl-token", "mintTo") in kinds
    # an honest creator burned the LP: the LP mint's supply is 0 of lp_reserve
    lp = net.cluster.get_account(amm.lp_mint)
    assert lp is not None
    assert mint_fields(bytes(lp.data))[0] == 0
