"""Each token kind's mechanic fails (or not) in LiteSVM the way it would on mainnet."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.token.state import Mint, TokenAccount, TokenAccountState

from localnet.cluster import Cluster
from localnet.market import Market
from localnet.market import instructions as ix
from localnet.tokens import TokenFactory
from localnet.tokens.metadata import decode_metadata, metadata_address

SOL = 10**9


def _balance(cluster: Cluster, owner: Keypair, info_mint: object, program: object) -> TokenAccount:
    ata = ix.associated_token_address(owner.pubkey(), info_mint, program)  # type: ignore[arg-type]
    acc = cluster.get_account(ata)
    assert acc is not None
    return TokenAccount.from_bytes(bytes(acc.data[:165]))


def _sell_all(market: Market, cluster: Cluster, trader: Keypair, mint: object, program: object):  # type: ignore[no-untyped-def]
    amount = _balance(cluster, trader, mint, program).amount
    return market.trade(mint, trader, "sell", amount)  # type: ignore[arg-type]


def test_honest_token_round_trips_and_has_revoked_authorities(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("honest")
    mint = Mint.from_bytes(bytes(cluster.get_account(info.mint).data[:82]))  # type: ignore[union-attr]
    assert mint.mint_authority is None
    assert mint.freeze_authority is None
    meta = decode_metadata(bytes(cluster.get_account(metadata_address(info.mint)).data))  # type: ignore[union-attr]
    assert meta.mint == info.mint
    assert meta.is_mutable is False
    before = cluster.get_balance(trader.pubkey())
    assert market.trade(info.mint, trader, "buy", SOL).err is None
    cluster.advance_slots(1)
    assert _sell_all(market, cluster, trader, info.mint, info.token_program).err is None
    after = cluster.get_balance(trader.pubkey())
    assert before - SOL // 50 < after < before  # lost only pool fees, rent and tx fees


def test_freeze_authority_creator_freezes_buyer_and_sell_fails_with_account_frozen(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("freeze_authority")
    assert market.trade(info.mint, trader, "buy", SOL).err is None
    frozen = factory.rug(info.mint)
    assert len(frozen) == 1
    state = _balance(cluster, trader, info.mint, info.token_program)
    assert state.state == TokenAccountState.Frozen
    out = _sell_all(market, cluster, trader, info.mint, info.token_program)
    assert out.err == {"InstructionError": [3, {"Custom": 17}]}


def test_mint_authority_dump_crushes_the_price(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("mint_authority")
    assert market.trade(info.mint, trader, "buy", SOL).err is None
    held = _balance(cluster, trader, info.mint, info.token_program).amount
    value_before = market.quote(info.mint, ix.WSOL_MINT, held, 100).math.out_amount
    results = factory.rug(info.mint)
    assert all(r.err is None for r in results)
    value_after = market.quote(info.mint, ix.WSOL_MINT, held, 100).math.out_amount
    assert value_after < value_before // 50


@pytest.mark.parametrize("fee_bps", [5_000, 10_000])
def test_transfer_fee_buyer_receives_net_of_fee_and_quote_says_so(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair, fee_bps: int
) -> None:
    info = factory.create("transfer_fee", fee_bps=fee_bps)
    quote = market.quote(ix.WSOL_MINT, info.mint, SOL, 100)
    assert quote.math.out_amount == quote.math.pool_out - ix.transfer_fee(
        quote.math.pool_out, fee_bps, 2**64 - 1
    )
    assert market.trade(info.mint, trader, "buy", SOL).err is None
    got = _balance(cluster, trader, info.mint, info.token_program).amount
    assert got == quote.math.out_amount  # same reserves: the quote was exact
    assert got == quote.math.pool_out * (10_000 - fee_bps) // 10_000


def test_permanent_delegate_drains_the_buyer(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("permanent_delegate")
    assert market.trade(info.mint, trader, "buy", SOL).err is None
    assert _balance(cluster, trader, info.mint, info.token_program).amount > 0
    assert all(r.err is None for r in factory.rug(info.mint))
    assert _balance(cluster, trader, info.mint, info.token_program).amount == 0


@pytest.mark.parametrize(
    ("kind", "err"),
    [
        ("non_transferable", {"InstructionError": [4, {"Custom": 37}]}),
        ("default_frozen", {"InstructionError": [4, {"Custom": 17}]}),
        ("transfer_hook", {"InstructionError": [4, "InvalidAccountData"]}),
    ],
)
def test_untransferable_kinds_fail_the_buy_with_token_program_errors(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair, kind: str, err: object
) -> None:
    info = factory.create(kind)
    before = cluster.get_balance(trader.pubkey())
    out = market.trade(info.mint, trader, "buy", SOL)
    assert out.err == err
    assert before - cluster.get_balance(trader.pubkey()) == out.fee  # atomic: only the fee


def test_pausable_creator_pauses_and_sells_fail_with_mint_paused(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    info = factory.create("pausable")
    assert market.trade(info.mint, trader, "buy", SOL).err is None
    assert all(r.err is None for r in factory.rug(info.mint))
    out = _sell_all(market, cluster, trader, info.mint, info.token_program)
    assert out.err == {"InstructionError": [3, {"Custom": 67}]}


def test_rug_pull_removes_liquidity_so_no_route(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    from localnet.market import MarketError

    info = factory.create("rug_pull")
    assert market.trade(info.mint, trader, "buy", SOL).err is None
    held = _balance(cluster, trader, info.mint, info.token_program).amount
    factory.rug(info.mint)
    assert market.reserves(market.pools[info.mint])[0] == 0
    with pytest.raises(MarketError) as exc:
        market.quote(info.mint, ix.WSOL_MINT, held, 100)
    assert exc.value.code == "COULD_NOT_FIND_ANY_ROUTE"


def test_concentrated_creator_holds_most_of_the_supply(
    cluster: Cluster, factory: TokenFactory
) -> None:
    info = factory.create("concentrated")
    token = factory.get(info.mint)
    held = _balance(cluster, token.creator, info.mint, info.token_program).amount
    assert held >= 0.9 * 10**15


def test_mutable_metadata_keeps_update_authority_mutable(
    cluster: Cluster, factory: TokenFactory
) -> None:
    info = factory.create("mutable_metadata")
    meta = decode_metadata(bytes(cluster.get_account(metadata_address(info.mint)).data))  # type: ignore[union-attr]
    assert meta.is_mutable is True
    assert meta.update_authority == info.creator


def test_same_seed_gives_the_same_mints() -> None:
    mints = []
    for _ in range(2):
        cluster = Cluster(seed=3, slot_ms=None)
        factory = TokenFactory(cluster, Market(cluster, seed=3))
        mints.append([factory.create(k).mint for k in ("honest", "transfer_fee")])
    assert mints[0] == mints[1]


def test_bad_parameters_say_what_to_fix(factory: TokenFactory) -> None:
    from localnet.tokens import TokenError

    with pytest.raises(TokenError, match="token-2022"):
        factory.create("transfer_fee", token_program="spl-token")
    with pytest.raises(TokenError, match="choose one of"):
        factory.create("nope")
