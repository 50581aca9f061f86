"""PumpSwap transactions built by the official pump-swap-sdk land on a graduated localnet pool, and
every token and lamport amount is what the SDK's own math predicts, to the base unit, across many
random pool states (vault balances, positive and negative `virtual_quote_reserves`, every fee
tier) and sizes: `buy` (buyBaseInput), `buy_exact_quote_in` (buyQuoteInput) and `sell`
(sellBaseInput). The SDK's decoder reads every BuyEvent / SellEvent and they tell the same story."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest
from pump.helpers import send, token_balance
from pump.oracle import Oracle
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.pumpswap import amm, state

from .helpers import SOL, funded, graduated, set_pool, set_token_balance, swap_state

ROUNDS = 36
KINDS = ("buy", "buy_exact_quote_in", "sell")


def _fee(amount: int, bps: int) -> int:
    return -(-amount * bps // 10_000)


def _events(oracle: Oracle, logs: list[str]) -> list[dict[str, Any]]:
    data = [x.removeprefix("Program data: ") for x in logs if x.startswith("Program data: ")]
    events: list[dict[str, Any]] = oracle({"op": "amm_decode", "events": data})["events"]
    return events


@pytest.mark.timeout(400)
def test_sdk_swaps_match_sdk_math_over_random_pools(oracle: Oracle) -> None:
    rng = random.Random(1212)
    g = graduated(41)
    c = g.cluster
    user = funded(c, 20_000)
    u = user.pubkey()
    pool = g.fields()
    coin_creator = pool["coin_creator"]
    vault_ata = state.wsol_ata(state.coin_creator_vault_authority(coin_creator))
    # the user holds the coin (a base account to buy into and plenty to sell)
    send(c, VersionedTransaction.from_bytes(base64.b64decode(oracle({
        "op": "tx", "blockhash": str(c.latest_blockhash()), "payer": str(u),
        "signers": [base64.b64encode(bytes(user)).decode()],
        "instructions": [{"kind": "ata", "owner": str(u), "mint": str(g.mint)}],
    })["transaction"])))  # fmt: skip
    user_base = set_token_balance(c, u, g.mint, 10**15)

    rounds: list[dict[str, Any]] = []
    for i in range(ROUNDS):
        kind = KINDS[i % 3]
        base = rng.randrange(10**12, 8 * 10**14)
        quote = rng.randrange(SOL, 500 * SOL)
        virtual = rng.choice([0, rng.randrange(1, 60 * SOL), -rng.randrange(1, quote // 2)])
        if kind == "buy":
            size = rng.randrange(1, base // rng.choice([3, 30, 3000]))
        elif kind == "buy_exact_quote_in":
            size = rng.randrange(10**5, rng.choice([10**8, 5 * SOL, 60 * SOL]))
        else:  # a sell the real quote vault can pay
            size = rng.randrange(1, base // rng.choice([4, 40, 4000]))
            while amm.sell_quote_out(size, base, quote + virtual) >= quote:
                size //= 2
        rounds.append({"kind": kind, "base": base, "quote": quote, "virtual": virtual,
                       "size": size})  # fmt: skip

    # what the SDK prices and builds, each on its round's pool state
    quote_requests, tx_requests = [], []
    for r in rounds:
        set_pool(g, r["base"], r["quote"], r["virtual"])
        st = swap_state(g, u)
        key = {"buy": "buyBase", "buy_exact_quote_in": "buyQuote", "sell": "sellBase"}[r["kind"]]
        quote_requests.append(
            {
                "op": "amm_quote",
                "state": st,
                key: str(r["size"]),
                "slippage": 1 if r["kind"] != "buy_exact_quote_in" else 0,
            }
        )
        r["state"] = st
    quotes = oracle(quote_requests)
    for r, q in zip(rounds, quotes, strict=True):
        if r["kind"] == "buy":
            spec = {"kind": "amm_buy_base", "base": str(r["size"]), "slippage": 1}
        elif r["kind"] == "buy_exact_quote_in":
            spec = {"kind": "amm_buy_exact_quote_in", "quote": str(r["size"]),
                    "minBase": q["buyQuote"]["base"]}  # fmt: skip
        else:
            spec = {"kind": "amm_sell_base", "base": str(r["size"]), "slippage": 1}
        tx_requests.append({
            "op": "tx", "blockhash": str(c.latest_blockhash()), "payer": str(u),
            "signers": [base64.b64encode(bytes(user)).decode()],
            "instructions": [{"kind": "compute_unit_limit", "units": 400_000},
                             {**spec, "state": r["state"]}],
        })  # fmt: skip
    txs = oracle(tx_requests)

    logs: list[str] = []
    checks: list[tuple[str, dict[str, int]]] = []
    tiers = set()
    for i, (r, q, built) in enumerate(zip(rounds, quotes, txs, strict=True)):
        set_pool(g, r["base"], r["quote"], r["virtual"])
        fees = q["feesBps"]
        lp_bps, protocol_bps = int(fees["lpFeeBps"]), int(fees["protocolFeeBps"])
        creator_bps = int(fees["creatorFeeBps"])
        tiers.add((lp_bps, protocol_bps, creator_bps))
        amm_ix = next(ix for ix in built["instructions"]
                      if ix["programId"] == str(state.PUMP_AMM_PROGRAM_ID))  # fmt: skip
        recipient = Pubkey.from_string(amm_ix["keys"][9]["pubkey"])
        buyback = Pubkey.from_string(amm_ix["keys"][-2]["pubkey"])
        watched = [g.fields()["pool_quote_token_account"], state.wsol_ata(recipient),
                   state.wsol_ata(buyback), vault_ata]  # fmt: skip
        before = [token_balance(c, k) for k in watched]
        sol_before, base_before = c.get_balance(u), token_balance(c, user_base)
        outcome = send(c, VersionedTransaction.from_bytes(base64.b64decode(built["transaction"])))
        assert outcome.err is None, (i, r["kind"], outcome.logs[-6:])
        delta = [token_balance(c, k) - b for k, b in zip(watched, before, strict=True)]
        sol = c.get_balance(u) - sol_before + outcome.fee
        if i == 0:  # the first buy creates the user's volume accumulator (rent paid by the user)
            sol += c.svm.minimum_balance_for_rent_exemption(state.USER_VOLUME_ACCUMULATOR_SIZE)
        tokens = token_balance(c, user_base) - base_before
        if r["kind"] == "buy":
            internal = int(q["buyBase"]["internalQuoteAmount"])
            assert tokens == r["size"], i
            assert -sol == int(q["buyBase"]["uiQuote"]), i
        elif r["kind"] == "buy_exact_quote_in":
            internal = int(q["buyQuote"]["internalQuoteWithoutFees"])
            assert tokens == int(q["buyQuote"]["base"]), i
            paid = internal + sum(_fee(internal, b) for b in (lp_bps, protocol_bps, creator_bps))
            assert -sol == paid <= r["size"], i
        else:
            internal = -1
            assert tokens == -r["size"], i
            assert sol == int(q["sellBase"]["uiQuote"]), i
        if internal >= 0:  # buys: the pool keeps quote + LP fee, the recipients the rest
            assert delta[0] == internal + _fee(internal, lp_bps), i
            assert delta[1] + delta[2] == _fee(internal, protocol_bps), i
            assert delta[3] == _fee(internal, creator_bps), i
        else:
            assert delta[0] == -(sol + delta[1] + delta[2] + delta[3]), i
        logs += list(outcome.logs)
        seen = {"tokens": tokens, "sol": sol, "creator": delta[3],
                "protocol": delta[1] + delta[2], "buyback": delta[2]}  # fmt: skip
        checks.append((r["kind"], seen))
    assert len(tiers) >= 3  # the random market caps reached several of mainnet's fee tiers
    trades = [e for e in _events(oracle, logs) if e["name"] in ("buyEvent", "sellEvent")]
    assert len(trades) == ROUNDS
    for event, (kind, seen) in zip(trades, checks, strict=True):
        d = event["data"]
        assert int(d["coinCreatorFee"]) == seen["creator"]
        assert int(d["protocolFee"]) == seen["protocol"]
        assert int(d["buybackFee"]) == seen["buyback"]
        assert d["coinCreator"] == str(coin_creator)
        if kind == "sell":
            assert event["name"] == "sellEvent"
            assert int(d["baseAmountIn"]) == -seen["tokens"]
            assert int(d["userQuoteAmountOut"]) == seen["sol"]
        else:
            assert event["name"] == "buyEvent"
            assert d["ixName"] == kind
            assert int(d["baseAmountOut"]) == seen["tokens"]
            if kind == "buy":
                assert int(d["userQuoteAmountIn"]) == -seen["sol"]
