"""The program's real errors for what broke other bots: a wrong fee recipient, a stale creator
vault, slippage both ways, a complete curve, a missing buyback recipient, a legacy buy without the
bonding-curve-v2 PDA. Each lands failed with the fee charged and nothing else changed."""

from __future__ import annotations

import base64
from typing import Any

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet import pump
from localnet.cluster import Cluster
from localnet.encoding import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from localnet.market.instructions import associated_token_address
from localnet.pump import state

from .helpers import SOL, SPL_TOKEN, Coin, build, create_v2, funded, send, token_balance
from .oracle import Oracle


def _setup(oracle: Oracle) -> tuple[Cluster, Coin, Keypair]:
    cluster = Cluster(seed=21, slot_ms=None)
    pump.install(cluster)
    coin = create_v2(oracle, cluster, funded(cluster, 10))
    return cluster, coin, funded(cluster, 100)


def _buy(
    coin: Coin, user: Keypair, tokens: int, max_sol: int, **extra: Any
) -> list[dict[str, Any]]:
    u = str(user.pubkey())
    return [
        {"kind": "ata", "owner": u, "mint": coin.address},
        {"kind": "buy_v2_raw", "user": u, "mint": coin.address,
         "creator": str(coin.creator.pubkey()), "amount": str(tokens),
         "quoteAmount": str(max_sol), **extra},
    ]  # fmt: skip


def _assert_fails(cluster: Cluster, tx: VersionedTransaction, index: int, code: int) -> list[str]:
    keys = list(tx.message.account_keys)
    before = {k: cluster.get_account(k) for k in keys}
    outcome = send(cluster, tx)
    assert outcome.err == {"InstructionError": [index, {"Custom": code}]}, outcome.logs
    assert outcome.logs[-1].endswith(f"failed: custom program error: {code:#x}")
    for key in keys[1:]:
        assert cluster.get_account(key) == before[key], key  # atomic: nothing moved
    payer = before[keys[0]]
    assert payer is not None
    assert cluster.get_balance(keys[0]) == payer.lamports - outcome.fee
    return list(outcome.logs)


def test_wrong_fee_recipient_is_not_authorized(oracle: Oracle) -> None:
    cluster, coin, user = _setup(oracle)
    tx = build(oracle, cluster, user, _buy(coin, user, 10**12, SOL,
                                           feeRecipient=str(Pubkey.new_unique())))  # fmt: skip
    logs = _assert_fails(cluster, tx, 1, 6000)
    assert any("Error Code: NotAuthorized. Error Number: 6000" in line for line in logs)


def test_unknown_buyback_fee_recipient_is_refused(oracle: Oracle) -> None:
    cluster, coin, user = _setup(oracle)
    stranger = str(Pubkey.new_unique())
    tx = build(oracle, cluster, user, _buy(coin, user, 10**12, SOL, buybackFeeRecipient=stranger))
    _assert_fails(cluster, tx, 1, 6057)


def test_stale_creator_vault_fails_constraint_seeds(oracle: Oracle) -> None:
    cluster, coin, user = _setup(oracle)
    stale = Coin(coin.mint, Keypair())  # the vault of someone who is not the curve's creator
    tx = build(oracle, cluster, user, _buy(stale, user, 10**12, SOL))
    logs = _assert_fails(cluster, tx, 1, 2006)
    assert any("caused by account: creator_vault. Error Code: ConstraintSeeds" in x for x in logs)
    assert f"Program log: {state.creator_vault_address(coin.creator.pubkey())}" in logs


def test_buy_slippage_too_much_sol_required(oracle: Oracle) -> None:
    cluster, coin, user = _setup(oracle)
    tx = build(oracle, cluster, user, _buy(coin, user, 10**13, 1_000))
    logs = _assert_fails(cluster, tx, 1, 6002)
    assert any("TooMuchSolRequired" in line for line in logs)


def test_sell_slippage_too_little_sol_received(oracle: Oracle) -> None:
    cluster, coin, user = _setup(oracle)
    send(cluster, build(oracle, cluster, user, _buy(coin, user, 10**13, SOL)))
    u = str(user.pubkey())
    tx = build(oracle, cluster, user, [
        {"kind": "sell_v2_raw", "user": u, "mint": coin.address,
         "creator": str(coin.creator.pubkey()), "amount": str(10**13), "quoteAmount": str(SOL)},
    ])  # fmt: skip
    _assert_fails(cluster, tx, 0, 6003)


def test_a_buy_that_empties_the_curve_completes_it_and_the_next_buy_fails(oracle: Oracle) -> None:
    cluster, coin, user = _setup(oracle)
    everything = state.INITIAL_REAL_TOKEN_RESERVES
    outcome = send(
        cluster, build(oracle, cluster, user, _buy(coin, user, everything + 1, 100 * SOL))
    )
    assert outcome.err is None, outcome.logs
    user_ata = associated_token_address(user.pubkey(), coin.mint.pubkey(), TOKEN_2022_PROGRAM_ID)
    assert token_balance(cluster, user_ata) == everything  # capped at what the curve had left
    data = [x.removeprefix("Program data: ") for x in outcome.logs if x.startswith("Program data:")]
    events = oracle({"op": "decode", "events": data})["events"]
    assert [e["name"] for e in events] == ["TradeEvent", "CompleteEvent"]
    assert events[1]["data"]["mint"] == coin.address
    curve = cluster.get_account(state.bonding_curve_address(coin.mint.pubkey()))
    assert curve is not None
    decoded = oracle({"op": "decode", "bondingCurve": base64.b64encode(bytes(curve.data)).decode()})
    assert decoded["bondingCurve"]["complete"] is True
    assert decoded["bondingCurve"]["realTokenReserves"] == "0"
    late = funded(cluster, 10)
    _assert_fails(cluster, build(oracle, cluster, late, _buy(coin, late, 10**9, SOL)), 1, 6005)


def _legacy_coin(oracle: Oracle, cluster: Cluster) -> Coin:
    creator, mint = funded(cluster, 10), Keypair()
    c = str(creator.pubkey())
    tx = build(oracle, cluster, creator, [
        {"kind": "create", "mint": str(mint.pubkey()), "name": "Old", "symbol": "OLD",
         "uri": "https://example.invalid/old.json", "creator": c, "user": c},
    ], [mint])  # fmt: skip
    outcome = send(cluster, tx)
    assert outcome.err is None, outcome.logs
    return Coin(mint, creator)


def _without_remaining(
    oracle: Oracle, cluster: Cluster, user: Keypair, coin: Coin, keep: int
) -> VersionedTransaction:
    """An SDK legacy buy with its remaining accounts cut to `keep`, as old clients send it."""
    u = str(user.pubkey())
    answer = oracle({
        "op": "tx", "blockhash": str(cluster.latest_blockhash()), "payer": u,
        "signers": [base64.b64encode(bytes(user)).decode()], "instructions": [
            {"kind": "ata", "owner": u, "mint": coin.address, "tokenProgram": SPL_TOKEN},
            {"kind": "buy_raw", "user": u, "mint": coin.address,
             "creator": str(coin.creator.pubkey()), "amount": str(10**12),
             "solAmount": str(SOL), "tokenProgram": SPL_TOKEN}],
    })  # fmt: skip
    ixs = []
    for i, raw in enumerate(answer["instructions"]):
        metas = [AccountMeta(Pubkey.from_string(k["pubkey"]), k["isSigner"], k["isWritable"])
                 for k in raw["keys"]]  # fmt: skip
        if i == 1:
            metas = metas[: 16 + keep]
        ixs.append(Instruction(Pubkey.from_string(raw["programId"]),
                               base64.b64decode(raw["data"]), metas))  # fmt: skip
    msg = MessageV0.try_compile(user.pubkey(), ixs, [], cluster.latest_blockhash())
    return VersionedTransaction(msg, [user])


def test_legacy_buy_without_bonding_curve_v2_reports_overflow(oracle: Oracle) -> None:
    cluster = Cluster(seed=22, slot_ms=None)
    pump.install(cluster)
    coin, user = _legacy_coin(oracle, cluster), funded(cluster, 10)
    _assert_fails(cluster, _without_remaining(oracle, cluster, user, coin, 0), 1, 6024)
    _assert_fails(cluster, _without_remaining(oracle, cluster, user, coin, 1), 1, 6062)
    outcome = send(cluster, _without_remaining(oracle, cluster, user, coin, 2))
    assert outcome.err is None, outcome.logs


def test_legacy_create_buy_and_sell_with_spl_token(oracle: Oracle) -> None:
    cluster = Cluster(seed=23, slot_ms=None)
    pump.install(cluster)
    coin, user = _legacy_coin(oracle, cluster), funded(cluster, 10)
    mint = cluster.get_account(coin.mint.pubkey())
    assert mint is not None
    assert mint.owner == TOKEN_PROGRAM_ID
    u, c = str(user.pubkey()), str(coin.creator.pubkey())

    def data(key: Pubkey) -> str:
        account = cluster.get_account(key)
        assert account is not None
        return base64.b64encode(bytes(account.data)).decode()

    q = oracle({
        "op": "quote", "global": data(state.GLOBAL), "feeConfig": data(state.FEE_CONFIG),
        "bondingCurve": data(state.bonding_curve_address(coin.mint.pubkey())),
        "mintSupply": str(state.TOKEN_TOTAL_SUPPLY), "buySol": str(SOL // 2),
    })  # fmt: skip
    tx = build(oracle, cluster, user, [
        {"kind": "ata", "owner": u, "mint": coin.address, "tokenProgram": SPL_TOKEN},
        {"kind": "buy_raw", "user": u, "mint": coin.address, "creator": c,
         "amount": q["buyTokens"], "solAmount": str(SOL // 2), "tokenProgram": SPL_TOKEN},
    ])  # fmt: skip
    outcome = send(cluster, tx)
    assert outcome.err is None, outcome.logs
    ata = associated_token_address(user.pubkey(), coin.mint.pubkey(), TOKEN_PROGRAM_ID)
    assert token_balance(cluster, ata) == int(q["buyTokens"])
    assert "Program log: Instruction: Buy" in outcome.logs
    tx = build(oracle, cluster, user, [
        {"kind": "sell_raw", "user": u, "mint": coin.address, "creator": c,
         "amount": q["buyTokens"], "solAmount": "0", "tokenProgram": SPL_TOKEN},
    ])  # fmt: skip
    outcome = send(cluster, tx)
    assert outcome.err is None, outcome.logs
    assert token_balance(cluster, ata) == 0
    assert "Program log: Instruction: Sell" in outcome.logs
