"""The Jupiter-compatible API, spoken to over HTTP the way the bot's venue client speaks to it."""

from __future__ import annotations

import base64

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from solders.keypair import Keypair
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster
from localnet.market import Market
from localnet.market import instructions as ix
from localnet.market.api import RateLimit, create_jupiter_app
from localnet.market.market import sign_as_user
from localnet.tokens import TokenFactory

SOL = 10**9
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(market: Market):  # type: ignore[no-untyped-def]
    async with TestClient(TestServer(create_jupiter_app(market))) as c:
        yield c


async def test_quote_swap_sign_send_lands(
    client: Client, cluster: Cluster, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    params = {
        "inputMint": str(ix.WSOL_MINT),
        "outputMint": str(info.mint),
        "amount": str(SOL),
        "slippageBps": "100",
    }
    resp = await client.get("/swap/v1/quote", params=params)
    assert resp.status == 200
    quote = await resp.json()
    assert quote["swapMode"] == "ExactIn"
    assert int(quote["otherAmountThreshold"]) == int(quote["outAmount"]) * 9_900 // 10_000
    assert quote["routePlan"][0]["swapInfo"]["ammKey"] == str(factory.get(info.mint).pool.key)
    resp = await client.post(
        "/v6/swap",
        json={
            "quoteResponse": quote,
            "userPublicKey": str(trader.pubkey()),
            "prioritizationFeeLamports": 14_000,
        },
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["lastValidBlockHeight"] == cluster.last_valid_block_height()
    assert body["prioritizationFeeLamports"] == 14_000
    tx = VersionedTransaction.from_bytes(base64.b64decode(body["swapTransaction"]))
    assert tx.message.account_keys[0] == trader.pubkey()
    out = cluster.send_transaction(sign_as_user(tx, trader))
    assert out.err is None
    assert out.fee == 10_000 + 14_000


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"outputMint": str(ix.WSOL_MINT), "amount": "1"}, "INVALID_REQUEST"),
        (
            {"inputMint": str(ix.WSOL_MINT), "outputMint": str(ix.WSOL_MINT), "amount": "1"},
            "CIRCULAR_ARBITRAGE_IS_DISABLED",
        ),
        (
            {"inputMint": str(ix.WSOL_MINT), "outputMint": str(Keypair().pubkey()), "amount": "1"},
            "TOKEN_NOT_TRADABLE",
        ),
        (
            {"inputMint": str(ix.WSOL_MINT), "outputMint": str(ix.WSOL_MINT), "amount": "1.5"},
            "INVALID_REQUEST",
        ),
    ],
)
async def test_quote_errors_are_400_with_error_code(
    client: Client, params: dict[str, str], code: str
) -> None:
    resp = await client.get("/swap/v1/quote", params=params)
    assert resp.status == 400
    assert (await resp.json())["errorCode"] == code


async def test_both_priority_fields_are_rejected(
    client: Client, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    quote = await (
        await client.get(
            "/swap/v1/quote",
            params={"inputMint": str(ix.WSOL_MINT), "outputMint": str(info.mint), "amount": "1000"},
        )
    ).json()
    resp = await client.post(
        "/swap/v1/swap-instructions",
        json={
            "quoteResponse": quote,
            "userPublicKey": str(trader.pubkey()),
            "prioritizationFeeLamports": 1,
            "computeUnitPriceMicroLamports": 1,
        },
    )
    assert (await resp.json())["errorCode"] == "INVALID_COMPUTE_UNIT_PRICE_AND_PRIORITIZATION_FEE"
    resp = await client.post(
        "/swap/v1/swap-instructions",
        json={"quoteResponse": quote, "userPublicKey": str(trader.pubkey())},
    )
    body = await resp.json()
    assert body["swapInstruction"]["programId"] == "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4"
    assert body["setupInstructions"][0]["programId"] == str(ix.ASSOCIATED_TOKEN_PROGRAM_ID)


async def test_api_key_and_rate_limit(market: Market) -> None:
    now = [1_000.0]
    app = create_jupiter_app(market, api_key="k", rate_limit=RateLimit(2, clock=lambda: now[0]))
    async with TestClient(TestServer(app)) as c:
        assert (await c.get("/swap/v1/program-id-to-label")).status == 401
        headers = {"x-api-key": "k"}
        first = await c.get("/swap/v1/program-id-to-label", headers=headers)
        assert first.status == 200
        assert first.headers["x-ratelimit-remaining"] == "1"
        assert (await c.get("/swap/v1/program-id-to-label", headers=headers)).status == 200
        limited = await c.get("/swap/v1/program-id-to-label", headers=headers)
        assert limited.status == 429
        assert limited.headers["x-ratelimit-reset"] == "1060"
        now[0] += 60.5
        assert (await c.get("/swap/v1/program-id-to-label", headers=headers)).status == 200
