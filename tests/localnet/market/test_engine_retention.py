"""The engine keeps the newest tokens; older ones are retired and their accounts closed."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair

from localnet.cluster import Cluster
from localnet.launches import ScenarioEngine, parse_scenario, pumpfun, raydium
from localnet.market import Market, MarketError
from localnet.market import instructions as ix
from localnet.tokens import TokenFactory

SOL = 1_000_000_000


def test_old_launches_are_retired_with_their_accounts(
    cluster: Cluster, market: Market, factory: TokenFactory, trader: Keypair
) -> None:
    engine = ScenarioEngine(cluster, market, factory, seed=7, max_tokens=3)
    first = engine.launch("honest", announce="pumpfun")
    second = engine.launch("freeze_authority", announce="raydium")
    assert market.trade(first.mint, trader, "buy", SOL // 10).err is None
    trader_ata = ix.associated_token_address(trader.pubkey(), first.mint, first.token_program)
    assert cluster.get_account(trader_ata) is not None
    rest = [engine.launch(k, announce="raydium") for k in ("transfer_fee", "honest", "rug_pull")]

    assert engine.launched == rest
    assert set(factory.tokens) == {t.mint for t in rest}
    assert engine.retired == 2
    for gone in (first, second):
        assert cluster.get_account(gone.mint) is None
        assert cluster.get_account(gone.pool) is None
        assert cluster.token_accounts_by_mint(gone.mint) == []
        with pytest.raises(MarketError) as exc:
            market.quote(ix.WSOL_MINT, gone.mint, SOL, 100)
        assert exc.value.code == "TOKEN_NOT_TRADABLE"
    assert cluster.get_account(trader_ata) is None
    assert cluster.get_account(pumpfun.bonding_curve_address(first.mint)) is None
    amm_mints = {
        raydium.decode_amm_info(bytes(a.data)).base_mint
        for _, a in cluster.program_accounts(raydium.RAYDIUM_AMM_V4)
    }
    assert amm_mints == {t.mint for t in rest}
    assert market.trade(rest[0].mint, trader, "buy", SOL // 10).err is None


def test_a_retired_scenario_token_skips_its_later_events(
    cluster: Cluster, market: Market, factory: TokenFactory
) -> None:
    engine = ScenarioEngine(cluster, market, factory, seed=7, max_tokens=1)
    engine.attach()
    engine.load(
        parse_scenario(
            '[[launch]]\nat_slot = 1\nkind = "rug_pull"\nparams = { rug_after_slots = 5 }\n'
            '[[launch]]\nat_slot = 2\nkind = "honest"\n'
            '[[event]]\nat_slot = 3\nlaunch = 0\naction = "pump"\n'
        )
    )
    cluster.advance_slots(10)  # neither the pump nor the rug timer touches the retired token
    assert [t.kind for t in engine.launched] == ["honest"]
    assert engine.retired == 1


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        ("every_slots = 0\nkinds = ['honest']", "every_slots"),
        ("every_slots = 3\nkinds = []", "kinds"),
        ("every_slots = 3\nkinds = ['honest']\nannounce = ['twitter']", "announce"),
    ],
)
def test_a_bad_stream_is_refused_with_the_field_to_fix(stream: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_scenario(f"[stream]\n{stream}\n")


def test_an_unknown_kind_in_the_stream_is_logged_and_the_stream_goes_on(
    cluster: Cluster, market: Market, factory: TokenFactory
) -> None:
    engine = ScenarioEngine(cluster, market, factory, seed=7)
    engine.attach()
    engine.load(parse_scenario("[stream]\nevery_slots = 2\nkinds = ['nope', 'honest']\n"))
    cluster.advance_slots(4)  # deals both kinds: one fails, one launches
    assert [t.kind for t in engine.launched] == ["honest"]
