"""Transactions built by the official SDK land on localnet, and every token and lamport amount is
what the SDK's own math predicts, to the base unit, across many random curve states and sizes."""

from __future__ import annotations

import base64
import random
from typing import Any

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet import pump
from localnet.cluster import Cluster
from localnet.encoding import TOKEN_2022_PROGRAM_ID
from localnet.market.instructions import associated_token_address
from localnet.pump import state

from .helpers import SOL, Coin, create_v2, funded, send, token_balance
from .oracle import Oracle, b64

VIRTUAL_TOKEN_GAP = state.INITIAL_VIRTUAL_TOKEN_RESERVES - state.INITIAL_REAL_TOKEN_RESERVES
UNSOLD = state.TOKEN_TOTAL_SUPPLY - state.INITIAL_REAL_TOKEN_RESERVES


def _cluster(seed: int) -> Cluster:
    cluster = Cluster(seed=seed, slot_ms=None)
    pump.install(cluster)
    return cluster


def set_curve(
    cluster: Cluster, mint: Pubkey, token_program: Pubkey, real_tokens: int, real_sol: int
) -> dict[str, Any]:
    """Put the curve of `mint` in a state (reserves consistent with its token account and
    lamports, as trading would have left them)."""
    key = state.bonding_curve_address(mint)
    acc = cluster.get_account(key)
    assert acc is not None
    fields = state.decode_account("BondingCurve", state.BONDING_CURVE_LAYOUT, bytes(acc.data))
    assert fields is not None
    fields.update(
        real_token_reserves=real_tokens, virtual_token_reserves=real_tokens + VIRTUAL_TOKEN_GAP,
        real_quote_reserves=real_sol,
        virtual_quote_reserves=real_sol + state.INITIAL_VIRTUAL_SOL_RESERVES, complete=False,
    )  # fmt: skip
    data = state.encode_account("BondingCurve", state.BONDING_CURVE_LAYOUT, fields, len(acc.data))
    rent = cluster.svm.minimum_balance_for_rent_exemption(len(acc.data))
    cluster.set_account(key, Account(rent + real_sol, data, acc.owner, False, 0))
    ata = associated_token_address(key, mint, token_program)
    ata_acc = cluster.get_account(ata)
    assert ata_acc is not None
    raw = bytearray(ata_acc.data)
    raw[64:72] = (real_tokens + UNSOLD).to_bytes(8, "little")
    cluster.set_account(ata, Account(ata_acc.lamports, bytes(raw), ata_acc.owner, False, 0))
    return fields


def _keys_of(answer_ix: dict[str, Any]) -> list[Pubkey]:
    return [Pubkey.from_string(k["pubkey"]) for k in answer_ix["keys"]]


def _events(oracle: Oracle, logs: tuple[str, ...]) -> list[dict[str, Any]]:
    data = [
        line.removeprefix("Program data: ") for line in logs if line.startswith("Program data: ")
    ]
    decoded: list[dict[str, Any]] = oracle({"op": "decode", "events": data})["events"]
    return decoded


def _warm_up(cluster: Cluster, coin: Coin, user: Keypair) -> None:
    """Pre-fund what a first trade would otherwise top up (creator vault) so balance deltas are
    the trade alone."""
    vault = state.creator_vault_address(coin.creator.pubkey())
    cluster.set_account(vault, Account(cluster.svm.minimum_balance_for_rent_exemption(0), b"",
                                       Pubkey.default(), False, 0))  # fmt: skip
    del user


def test_sdk_buy_v2_and_sell_v2_amounts_match_sdk_math_over_random_curves(oracle: Oracle) -> None:
    rng = random.Random(12)
    cluster = _cluster(12)
    creator, user = funded(cluster, 10), funded(cluster, 1_000)
    coin = create_v2(oracle, cluster, creator)
    mint, u = coin.mint.pubkey(), str(user.pubkey())
    _warm_up(cluster, coin, user)
    user_ata = associated_token_address(user.pubkey(), mint, TOKEN_2022_PROGRAM_ID)
    curve_key = state.bonding_curve_address(mint)
    rounds = 30
    # random states: (real tokens left, real SOL in) for a buy, then for a sell
    buy_states = [(rng.randrange(10**12, state.INITIAL_REAL_TOKEN_RESERVES),
                   rng.randrange(0, 85 * SOL)) for _ in range(rounds)]  # fmt: skip
    budgets = [rng.choice([rng.randrange(10**5, 10**8), rng.randrange(10**8, 5 * SOL),
                           rng.randrange(5 * SOL, 60 * SOL)]) for _ in range(rounds)]  # fmt: skip
    global_b64 = b64(bytes(cluster.get_account(state.GLOBAL).data))  # type: ignore[union-attr]
    fee_b64 = b64(bytes(cluster.get_account(state.FEE_CONFIG).data))  # type: ignore[union-attr]

    def curve_b64(real_tokens: int, real_sol: int) -> str:
        fields = set_curve(cluster, mint, TOKEN_2022_PROGRAM_ID, real_tokens, real_sol)
        return b64(state.encode_account("BondingCurve", state.BONDING_CURVE_LAYOUT, fields, 151))

    quotes = oracle([
        {"op": "quote", "global": global_b64, "feeConfig": fee_b64, "bondingCurve": curve_b64(*s),
         "mintSupply": str(state.TOKEN_TOTAL_SUPPLY), "buySol": str(budget)}
        for s, budget in zip(buy_states, budgets, strict=True)
    ])  # fmt: skip
    # sells: a random share of what the buys so far hold, on another random curve with enough SOL
    held, sells = 0, []
    for q in quotes:
        held += int(q["buyTokens"])
        amount = max(1, held * rng.randrange(1, 100) // 100)
        real_tokens = rng.randrange(10**12, state.INITIAL_REAL_TOKEN_RESERVES)
        real_sol = rng.randrange(amount * 120 * SOL // 10**15 + SOL, 120 * SOL)
        sells.append((amount, real_tokens, real_sol))
        held -= amount
    sell_quotes = oracle([
        {"op": "quote", "global": global_b64, "feeConfig": fee_b64,
         "bondingCurve": curve_b64(rt, rs), "mintSupply": str(state.TOKEN_TOTAL_SUPPLY),
         "sellTokens": str(amount)}
        for amount, rt, rs in sells
    ])  # fmt: skip
    creator_key = str(creator.pubkey())
    txs = oracle([
        {"op": "tx", "blockhash": str(cluster.latest_blockhash()), "payer": u,
         "signers": [base64.b64encode(bytes(user)).decode()], "instructions": ix}
        for i in range(rounds)
        for ix in (
            [{"kind": "ata", "owner": u, "mint": str(mint)},
             {"kind": "buy_v2_raw", "user": u, "mint": str(mint), "creator": creator_key,
              "amount": quotes[i]["buyTokens"], "quoteAmount": str(budgets[i])}],
            [{"kind": "sell_v2_raw", "user": u, "mint": str(mint), "creator": creator_key,
              "amount": str(sells[i][0]), "quoteAmount": sell_quotes[i]["sellSol"]}],
        )
    ])  # fmt: skip
    from solders.transaction import VersionedTransaction

    completed = 0
    checks: list[tuple[tuple[str, ...], list[int], int]] = []
    for i in range(rounds):
        # ---- buy_v2
        set_curve(cluster, mint, TOKEN_2022_PROGRAM_ID, *buy_states[i])
        buy_ix = txs[2 * i]["instructions"][-1]
        fee_recipient, buyback = _keys_of(buy_ix)[6], _keys_of(buy_ix)[8]
        watched = [user.pubkey(), curve_key, fee_recipient, buyback,
                   state.creator_vault_address(creator.pubkey())]  # fmt: skip
        before = [cluster.get_balance(k) for k in watched]
        tokens_before = token_balance(cluster, user_ata)
        outcome = send(cluster, VersionedTransaction.from_bytes(
            base64.b64decode(txs[2 * i]["transaction"])))  # fmt: skip
        assert outcome.err is None, (i, outcome.logs)
        after = [cluster.get_balance(k) for k in watched]
        delta = [a - b for a, b in zip(after, before, strict=True)]
        tokens = int(quotes[i]["buyTokens"])
        cost = int(quotes[i]["buySolCostForTokens"])
        assert token_balance(cluster, user_ata) - tokens_before == tokens
        uva_rent = (
            cluster.svm.minimum_balance_for_rent_exemption(state.USER_VOLUME_ACCUMULATOR_SIZE)
            if i == 0 else 0
        )  # fmt: skip
        ata_rent = cluster.svm.minimum_balance_for_rent_exemption(170) if i == 0 else 0
        assert -delta[0] == cost + outcome.fee + uva_rent + ata_rent, i
        assert delta[1] + delta[2] + delta[3] + delta[4] == cost  # curve + protocol + creator
        checks.append((outcome.logs, delta, tokens))
        if tokens == buy_states[i][0]:
            completed += 1
        # ---- sell_v2
        amount, real_tokens, real_sol = sells[i]
        set_curve(cluster, mint, TOKEN_2022_PROGRAM_ID, real_tokens, real_sol)
        before_sol, tokens_before = (
            cluster.get_balance(user.pubkey()),
            token_balance(cluster, user_ata),
        )
        outcome = send(cluster, VersionedTransaction.from_bytes(
            base64.b64decode(txs[2 * i + 1]["transaction"])))  # fmt: skip
        assert outcome.err is None, (i, outcome.logs)
        received = cluster.get_balance(user.pubkey()) - before_sol + outcome.fee
        assert received == int(sell_quotes[i]["sellSol"]), i
        assert tokens_before - token_balance(cluster, user_ata) == amount
    # the SDK's decoder reads every TradeEvent, and it tells the amounts that moved
    events = _events(oracle, tuple(line for logs, _, _ in checks for line in logs))
    trades = [e["data"] for e in events if e["name"] == "TradeEvent"]
    assert len(trades) == rounds
    for trade, (_, delta, tokens) in zip(trades, checks, strict=True):
        assert int(trade["solAmount"]) == delta[1]
        assert int(trade["tokenAmount"]) == tokens
        assert trade["isBuy"] is True
        assert int(trade["fee"]) == delta[2] + delta[3]
        assert int(trade["buybackFee"]) == delta[3]
        assert int(trade["creatorFee"]) == delta[4]
    assert completed <= rounds  # some budgets exceed what is left: the buy takes the rest
