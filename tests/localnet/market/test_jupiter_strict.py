"""The Jupiter-compatible API refuses or honours what Jupiter refuses or honours, never ignores:
platformFeeBps/feeAccount, dexes/excludeDexes, asLegacyTransaction, Jito tips, swapMode values,
quotes edited before /swap, and the Price API v3. Each test failed on the API that ignored them."""

from __future__ import annotations

import base64
import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster
from localnet.jito import TIP_ACCOUNTS
from localnet.market import JUPITER_PROGRAM_ID, Market
from localnet.market import instructions as ix
from localnet.market.api import create_jupiter_app
from localnet.market.market import COMPUTE_BUDGET_ID, sign_as_user
from localnet.tokens import TokenFactory

SOL = 10**9
SYSTEM = Pubkey.default()
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(market: Market):  # type: ignore[no-untyped-def]
    async with TestClient(TestServer(create_jupiter_app(market))) as c:
        yield c


async def _quote(client: Client, mint: Pubkey, **extra: str) -> tuple[int, dict[str, Any]]:
    params = {
        "inputMint": str(ix.WSOL_MINT),
        "outputMint": str(mint),
        "amount": str(SOL),
        "slippageBps": "100",
        **extra,
    }
    resp = await client.get("/swap/v1/quote", params=params)
    return resp.status, await resp.json()


async def _swap(client: Client, quote: dict[str, Any], user: Keypair, **extra: Any) -> Any:
    body = {"quoteResponse": quote, "userPublicKey": str(user.pubkey()), **extra}
    resp = await client.post("/swap/v1/swap", json=body)
    return resp.status, await resp.json()


def _tx(body: dict[str, Any]) -> VersionedTransaction:
    return VersionedTransaction.from_bytes(base64.b64decode(body["swapTransaction"]))


def _token_balance(cluster: Cluster, account: Pubkey) -> int:
    acc = cluster.get_account(account)
    assert acc is not None
    return TokenAccount.from_bytes(bytes(acc.data[:165])).amount


def _ata(cluster: Cluster, market: Market, owner: Keypair, mint: Pubkey) -> Pubkey:
    program = market.pools[mint].token_program
    create = ix.create_associated_token_account_idempotent(
        owner.pubkey(), owner.pubkey(), mint, program
    )
    market.send([create], [owner])
    return ix.associated_token_address(owner.pubkey(), mint, program)


async def test_platform_fee_is_in_the_quote_and_paid_to_the_fee_account(
    client: Client, cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    _, plain = await _quote(client, info.mint)
    status, quote = await _quote(client, info.mint, platformFeeBps="100")
    assert status == 200
    gross = int(quote["routePlan"][0]["swapInfo"]["outAmount"])
    fee = gross * 100 // 10_000
    assert quote["platformFee"] == {"amount": str(fee), "feeBps": 100}
    assert gross == int(plain["outAmount"])
    assert int(quote["outAmount"]) == gross - fee
    assert int(quote["otherAmountThreshold"]) == (gross - fee) * 9_900 // 10_000

    status, body = await _swap(client, quote, trader)
    assert status == 400
    assert body["errorCode"] == "INVALID_REQUEST"
    assert "feeAccount is required" in body["error"]

    collector = Keypair()
    cluster.airdrop(collector.pubkey(), SOL)
    wrong_mint = _ata(cluster, market, collector, factory.create("honest").mint)
    status, body = await _swap(client, quote, trader, feeAccount=str(wrong_mint))
    assert status == 400
    assert "output mint" in body["error"]

    fee_account = _ata(cluster, market, collector, info.mint)
    status, body = await _swap(client, quote, trader, feeAccount=str(fee_account))
    assert status == 200, body
    out = cluster.send_transaction(sign_as_user(_tx(body), trader))
    assert out.err is None, out.logs
    assert _token_balance(cluster, fee_account) == fee
    user_ata = ix.associated_token_address(trader.pubkey(), info.mint, ix.TOKEN_PROGRAM_ID)
    assert _token_balance(cluster, user_ata) == int(quote["outAmount"])


async def test_dexes_and_exclude_dexes_filter_by_label_and_refuse_unknown_labels(
    client: Client, factory: TokenFactory
) -> None:
    info = factory.create("honest")
    status, quote = await _quote(client, info.mint, dexes="Raydium,Whirlpool")
    assert status == 200
    assert quote["routePlan"][0]["swapInfo"]["label"] == "Raydium"
    assert (await _quote(client, info.mint, excludeDexes="Meteora DLMM"))[0] == 200
    for params in ({"excludeDexes": "Raydium"}, {"dexes": "Whirlpool"}):
        status, body = await _quote(client, info.mint, **params)
        assert (status, body["errorCode"]) == (400, "COULD_NOT_FIND_ANY_ROUTE"), params
    labels = set((await (await client.get("/swap/v1/program-id-to-label")).json()).values())
    assert "Raydium" in labels
    status, body = await _quote(client, info.mint, dexes="Raydium,NotADex")
    assert (status, body["errorCode"]) == (400, "INVALID_REQUEST")
    assert "NotADex" in body["error"]


async def test_as_legacy_transaction_returns_a_legacy_transaction_or_refuses(
    client: Client, cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    status, quote = await _quote(client, info.mint, asLegacyTransaction="true")
    assert status == 200
    status, body = await _swap(client, quote, trader, asLegacyTransaction=True)
    assert status == 200
    tx = _tx(body)
    assert isinstance(tx.message, Message)
    raw = base64.b64decode(body["swapTransaction"])
    assert raw[1 + 64 * raw[0]] < 0x80  # the message has no version prefix
    out = cluster.send_transaction(sign_as_user(tx, trader))
    assert out.err is None, out.logs
    status, body = await _swap(client, quote, trader)
    assert isinstance(_tx(body).message, MessageV0)

    # a route whose accounts cannot fit in one packet without lookup tables
    pool = market.pools[info.mint]
    wide = dataclasses.replace(pool, hook_accounts=tuple(Keypair().pubkey() for _ in range(40)))
    market.pools[info.mint] = wide
    market._by_key[pool.key] = wide
    status, body = await _quote(client, info.mint, asLegacyTransaction="true")
    assert (status, body["errorCode"]) == (400, "COULD_NOT_FIND_ANY_ROUTE")
    _, quote = await _quote(client, info.mint)
    status, body = await _swap(client, quote, trader, asLegacyTransaction=True)
    assert (status, body["errorCode"]) == (400, "FAILED_TO_GET_SWAP_AND_ACCOUNT_METAS")
    assert "1232-byte limit" in body["error"]
    assert (await _quote(client, info.mint, asLegacyTransaction="yes"))[0] == 400


async def test_jito_tip_is_a_transfer_to_a_tip_account_in_the_transaction(
    client: Client, cluster: Cluster, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    _, quote = await _quote(client, info.mint)
    status, body = await _swap(
        client, quote, trader, prioritizationFeeLamports={"jitoTipLamports": 12_345}
    )
    assert status == 200
    assert body["prioritizationType"] == {"jito": {"lamports": 12_345}}
    assert body["prioritizationFeeLamports"] == 12_345
    tx = _tx(body)
    keys = list(tx.message.account_keys)
    programs = [keys[c.program_id_index] for c in tx.message.instructions]
    assert programs.count(COMPUTE_BUDGET_ID) == 1  # the limit only: a tip, not a CU price
    tips = [
        (keys[c.accounts[0]], keys[c.accounts[1]], int.from_bytes(bytes(c.data)[4:12], "little"))
        for c in tx.message.instructions
        if keys[c.program_id_index] == SYSTEM and keys[c.accounts[1]] in TIP_ACCOUNTS
    ]
    assert len(tips) == 1
    payer, tip_account, lamports = tips[0]
    assert (payer, lamports) == (trader.pubkey(), 12_345)
    before = cluster.get_balance(tip_account)
    out = cluster.send_transaction(sign_as_user(tx, trader))
    assert out.err is None, out.logs
    assert cluster.get_balance(tip_account) - before == 12_345
    assert out.fee == 10_000  # two signatures, no priority fee

    sponsor = Keypair()
    status, body = await _swap(
        client,
        quote,
        trader,
        prioritizationFeeLamports={
            "jitoTipLamportsWithPayer": {"lamports": 5_000, "payer": str(sponsor.pubkey())}
        },
    )
    assert status == 200
    msg = _tx(body).message
    assert sponsor.pubkey() in list(msg.account_keys)[: msg.header.num_required_signatures]
    status, body = await _swap(client, quote, trader, prioritizationFeeLamports={"tip": 1})
    assert (status, body["errorCode"]) == (400, "INVALID_REQUEST")


async def test_a_bogus_swap_mode_is_a_validation_error_not_the_exact_out_message(
    client: Client, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    status, body = await _quote(client, info.mint, swapMode="exactin")
    assert (status, body["errorCode"]) == (400, "INVALID_REQUEST")
    assert "unknown variant `exactin`, expected `ExactIn` or `ExactOut`" in body["error"]
    status, body = await _quote(client, info.mint, swapMode="ExactOut")
    assert (status, body["errorCode"]) == (400, "NOT_SUPPORTED")
    _, quote = await _quote(client, info.mint)
    status, body = await _swap(client, {**quote, "swapMode": "Sideways"}, trader)
    assert (status, body["errorCode"]) == (400, "INVALID_REQUEST")
    assert "unknown variant `Sideways`" in body["error"]


async def test_a_tampered_quote_is_refused_by_swap_or_by_the_chain(
    client: Client, cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    _, quote = await _quote(client, info.mint)
    # amounts that disagree with the quote's own route: /swap refuses
    for edit in ({"inAmount": str(SOL // 2)}, {"outAmount": str(int(quote["outAmount"]) * 2)}):
        status, body = await _swap(client, {**quote, **edit}, trader)
        assert (status, body["errorCode"]) == (400, "INVALID_REQUEST"), edit
        assert "modified" in body["error"]
    # a consistent edit (half the input everywhere) keeps the quoted out: the chain refuses
    step = quote["routePlan"][0]
    half = dict(quote, inAmount=str(SOL // 2))
    half["routePlan"] = [{**step, "swapInfo": {**step["swapInfo"], "inAmount": str(SOL // 2)}}]
    status, body = await _swap(client, half, trader)
    assert status == 200
    out = cluster.send_transaction(sign_as_user(_tx(body), trader))
    assert out.err == {"InstructionError": [2, {"Custom": 6001}]}
    # otherAmountThreshold is not what the chain checks: zeroing it keeps the slippage guard
    status, body = await _swap(client, {**quote, "otherAmountThreshold": "0"}, trader)
    assert status == 200
    whale = Keypair()
    cluster.airdrop(whale.pubkey(), 30 * SOL)
    assert market.trade(info.mint, whale, "buy", 20 * SOL).err is None
    out = cluster.send_transaction(sign_as_user(_tx(body), trader))
    assert out.err == {"InstructionError": [2, {"Custom": 6001}]}
    assert out.logs[-1] == f"Program {JUPITER_PROGRAM_ID} failed: custom program error: 0x1771"


async def test_price_v3_prices_the_market_tokens_and_sol_in_usd(
    client: Client, market: Market, factory: TokenFactory
) -> None:
    info = factory.create("honest")
    unknown = Keypair().pubkey()
    ids = f"{ix.WSOL_MINT},{info.mint},{unknown}"
    resp = await client.get("/price/v3", params={"ids": ids})
    assert resp.status == 200
    body = await resp.json()
    assert set(body) == {str(ix.WSOL_MINT), str(info.mint)}  # unpriced mints are omitted
    assert body[str(ix.WSOL_MINT)]["usdPrice"] == 150.0
    market.sol_usd = Decimal("200.5")
    body = await (await client.get("/price/v3", params={"ids": ids})).json()
    assert body[str(ix.WSOL_MINT)]["usdPrice"] == 200.5
    pool = market.pools[info.mint]
    sol, tokens = market.reserves(pool)
    token = body[str(info.mint)]
    expected = Decimal(sol) / 10**9 / (Decimal(tokens) / 10**pool.decimals) * Decimal("200.5")
    assert token["usdPrice"] == pytest.approx(float(expected), rel=1e-12)
    assert token["decimals"] == pool.decimals
    assert token["liquidity"] == pytest.approx(2 * sol / 10**9 * 200.5)
    too_many = ",".join(str(Keypair().pubkey()) for _ in range(51))
    assert (await client.get("/price/v3", params={"ids": too_many})).status == 400
    assert (await client.get("/price/v3", params={"ids": "nope"})).status == 400
    assert (await client.get("/price/v3")).status == 400
