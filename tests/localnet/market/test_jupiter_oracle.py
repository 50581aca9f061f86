"""An independent check of the Jupiter-compatible API's shapes: @jup-ag/api's own model
deserializers (QuoteResponseFromJSON, SwapResponseFromJSON, SwapInstructionsResponseFromJSON)
parse localnet's responses and @solana/web3.js decodes the transactions (tests/oracle/jupiter.js);
the values they read are the ones localnet meant."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from solders.keypair import Keypair

from localnet.cluster import Cluster
from localnet.jito import TIP_ACCOUNTS
from localnet.market import JUPITER_PROGRAM_ID, Market
from localnet.market import instructions as ix
from localnet.market.api import create_jupiter_app
from localnet.tokens import TokenFactory

ORACLE_DIR = Path(__file__).resolve().parents[2] / "oracle"
SOL = 10**9
Client = TestClient[web.Request, web.Application]


def _parse(records: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("node") is None or not (ORACLE_DIR / "node_modules/@jup-ag/api").is_dir():
        pytest.fail("node and tests/oracle/node_modules (npm ci --prefix tests/oracle) needed")
    done = subprocess.run(
        ["node", str(ORACLE_DIR / "jupiter.js")], input=json.dumps(records),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_jup_ag_api_models_parse_quote_swap_and_price(
    market: Market, cluster: Cluster, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    collector = Keypair()
    cluster.airdrop(collector.pubkey(), SOL)
    market.send(
        [
            ix.create_associated_token_account_idempotent(
                collector.pubkey(), collector.pubkey(), info.mint, ix.TOKEN_PROGRAM_ID
            )
        ],
        [collector],
    )
    fee_account = ix.associated_token_address(collector.pubkey(), info.mint, ix.TOKEN_PROGRAM_ID)
    user = str(trader.pubkey())
    params = {"inputMint": str(ix.WSOL_MINT), "outputMint": str(info.mint), "amount": str(SOL)}
    async with TestClient(TestServer(create_jupiter_app(market))) as client:

        async def get(path: str, **query: str) -> Any:
            resp = await client.get(path, params=query)
            assert resp.status == 200, await resp.text()
            return await resp.json()

        async def post(path: str, **body: Any) -> Any:
            resp = await client.post(path, json=body)
            assert resp.status == 200, await resp.text()
            return await resp.json()

        quote = await get("/swap/v1/quote", **params, slippageBps="100")
        fee_quote = await get("/swap/v1/quote", **params, platformFeeBps="50")
        records = {
            "quote": quote,
            "feeQuote": fee_quote,
            "swap": await post(
                "/swap/v1/swap",
                quoteResponse=fee_quote,
                userPublicKey=user,
                feeAccount=str(fee_account),
                prioritizationFeeLamports=14_000,
            ),
            "legacySwap": await post(
                "/swap/v1/swap", quoteResponse=quote, userPublicKey=user, asLegacyTransaction=True
            ),
            "jitoSwap": await post(
                "/swap/v1/swap",
                quoteResponse=quote,
                userPublicKey=user,
                prioritizationFeeLamports={"jitoTipLamports": 7_000},
            ),
            "swapInstructions": await post(
                "/swap/v1/swap-instructions",
                quoteResponse=quote,
                userPublicKey=user,
                prioritizationFeeLamports={"jitoTipLamports": 7_000},
            ),
            "price": await get("/price/v3", ids=f"{ix.WSOL_MINT},{info.mint}"),
            "tipAccounts": [str(k) for k in TIP_ACCOUNTS],
        }
    parsed = _parse(records)

    q = parsed["quote"]
    assert q["swapMode"] == "ExactIn"
    assert (q["inAmount"], q["outAmount"]) == (str(SOL), quote["outAmount"])
    assert q["otherAmountThreshold"] == str(int(quote["outAmount"]) * 9_900 // 10_000)
    assert q["platformFee"] == "absent"  # the model reads our null as absent (exists() is false)
    assert q["routePlan"] == [
        {
            "ammKey": str(market.pools[info.mint].key),
            "label": "Raydium",
            "inAmount": str(SOL),
            "outAmount": quote["outAmount"],
            "percent": 100,
            "bps": 10_000,
        }
    ]
    fee = int(quote["outAmount"]) * 50 // 10_000
    assert parsed["feeQuote"]["platformFee"] == {"amount": str(fee), "feeBps": 50}
    assert parsed["feeQuote"]["outAmount"] == str(int(quote["outAmount"]) - fee)

    swap = parsed["swap"]
    assert swap["prioritizationFeeLamports"] == 14_000
    assert swap["lastValidBlockHeight"] == cluster.last_valid_block_height()
    assert swap["transaction"]["version"] == 0
    assert swap["transaction"]["feePayer"] == user
    assert swap["transaction"]["requiredSignatures"] == 2  # the user and the pool's co-signature
    assert str(JUPITER_PROGRAM_ID) in swap["transaction"]["programs"]
    # the route's two legs and the fee leg
    assert swap["transaction"]["programs"].count(str(ix.TOKEN_PROGRAM_ID)) == 2
    assert parsed["legacySwap"]["transaction"]["version"] == "legacy"
    jito = parsed["jitoSwap"]
    assert jito["prioritizationFeeLamports"] == 7_000
    [tip] = jito["transaction"]["tips"]
    assert (tip["from"], tip["lamports"]) == (user, "7000")
    assert tip["to"] in records["tipAccounts"]
    assert parsed["swapInstructions"]["swap"] == str(JUPITER_PROGRAM_ID)
    assert parsed["swapInstructions"]["other"][-1] == "11111111111111111111111111111111"
    assert parsed["swapInstructions"]["addressLookupTableAddresses"] == []
    prices = parsed["price"]
    assert prices[str(ix.WSOL_MINT)] == {"usdPrice": 150.0, "decimals": 9, "liquidity": None}
    assert prices[str(info.mint)]["usdPrice"] == records["price"][str(info.mint)]["usdPrice"]
    assert prices[str(info.mint)]["decimals"] == market.pools[info.mint].decimals
