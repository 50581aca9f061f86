"""A Token-2022 transfer fee still bites on a curve trade: the token leg is a real
TransferChecked."""

from __future__ import annotations

from solders.account import Account
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction

from localnet import pump
from localnet.cluster import Cluster
from localnet.encoding import TOKEN_2022_PROGRAM_ID
from localnet.market import instructions as tix
from localnet.pump import state

from .helpers import SOL, Coin, build, funded, send, token_balance
from .oracle import Oracle

FEE_BPS = 500


def _transfer_fee_coin(cluster: Cluster, creator: Keypair) -> Coin:
    """A transfer-fee mint (5 %) whose supply sits on a pump curve, as a honeypot launcher makes."""
    mint = Keypair()
    m, c = mint.pubkey(), creator.pubkey()
    size = tix.mint_len([tix.EXT_TRANSFER_FEE_CONFIG])
    curve = state.bonding_curve_address(m)
    rent = cluster.svm.minimum_balance_for_rent_exemption(size)
    ixs = [
        create_account(CreateAccountParams(
            from_pubkey=c, to_pubkey=m, lamports=rent, space=size, owner=TOKEN_2022_PROGRAM_ID)),
        tix.initialize_transfer_fee_config(m, c, FEE_BPS, 10**15),
        tix.initialize_mint2(TOKEN_2022_PROGRAM_ID, m, 6, c, None),
        tix.create_associated_token_account_idempotent(c, curve, m, TOKEN_2022_PROGRAM_ID),
        tix.mint_to(TOKEN_2022_PROGRAM_ID, m, tix.associated_token_address(
            curve, m, TOKEN_2022_PROGRAM_ID), c, state.TOKEN_TOTAL_SUPPLY),
    ]  # fmt: skip
    msg = MessageV0.try_compile(c, ixs, [], cluster.latest_blockhash())
    assert cluster.send_transaction(VersionedTransaction(msg, [creator, mint])).err is None
    fields = {
        "virtual_token_reserves": state.INITIAL_VIRTUAL_TOKEN_RESERVES,
        "virtual_quote_reserves": state.INITIAL_VIRTUAL_SOL_RESERVES,
        "real_token_reserves": state.INITIAL_REAL_TOKEN_RESERVES, "real_quote_reserves": 0,
        "token_total_supply": state.TOKEN_TOTAL_SUPPLY, "complete": False, "creator": c,
        "is_mayhem_mode": False, "is_cashback_coin": False, "quote_mint": Pubkey.default(),
        "creator_fee_bps": 0, "can_edit_creator_fee": False, "is_holder_reward": False,
    }  # fmt: skip
    data = state.encode_account("BondingCurve", state.BONDING_CURVE_LAYOUT, fields, 151)
    rent = cluster.svm.minimum_balance_for_rent_exemption(151)
    cluster.set_account(curve, Account(rent, data, state.PUMP_PROGRAM_ID, False, 0))
    return Coin(mint, creator)


def test_transfer_fee_bites_on_an_sdk_buy_v2(oracle: Oracle) -> None:
    cluster = Cluster(seed=41, slot_ms=None)
    pump.install(cluster)
    coin = _transfer_fee_coin(cluster, funded(cluster, 10))
    user = funded(cluster, 10)
    u, tokens = str(user.pubkey()), 10**12
    tx = build(oracle, cluster, user, [
        {"kind": "ata", "owner": u, "mint": coin.address},
        {"kind": "buy_v2_raw", "user": u, "mint": coin.address,
         "creator": str(coin.creator.pubkey()), "amount": str(tokens), "quoteAmount": str(SOL)},
    ])  # fmt: skip
    outcome = send(cluster, tx)
    assert outcome.err is None, outcome.logs
    ata = tix.associated_token_address(user.pubkey(), coin.mint.pubkey(), TOKEN_2022_PROGRAM_ID)
    fee = -(-tokens * FEE_BPS // 10_000)
    assert token_balance(cluster, ata) == tokens - fee  # the curve sent `tokens`; the fee bit
