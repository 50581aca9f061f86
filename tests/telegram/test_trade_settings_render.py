"""The token card's venue and curve lines, the settings' order options, and the typed Jito tip's
bounds (the facade's parser: what /settings' "Fixed tip…" prompt accepts)."""

from __future__ import annotations

import pytest

from sniper_bot.control.facade import _parse_tip
from sniper_bot.control.views import ControlError, RiskView, SettingsView, TokenCardView
from sniper_bot.telegram.render import render_settings, render_token_card

RISK = RiskView(score=10, blocked=False, is_honeypot=False, overridable=True, findings=())


def card(**fields: object) -> str:
    base: dict[str, object] = {
        "mint": "So11111111111111111111111111111111111111112",
        "name": None,
        "symbol": None,
        "decimals": 6,
        "token_program": "token-2022",
        "tokens_per_sol": 10**9,
        "price_impact_pct": "0.10",
        "risk": RISK,
        "presets_lamports": (10**8,),
    }
    base.update(fields)
    return render_token_card(TokenCardView(**base))  # type: ignore[arg-type]


def test_a_curve_coin_shows_its_venue_progress_and_market_cap() -> None:
    text = card(
        name="Moon <Coin>",
        symbol="MOON",
        venue="pumpfun",
        curve_progress_bps=5,
        market_cap_lamports=27_958_993_000,
    )
    assert text.startswith("<b>Moon &lt;Coin&gt;</b> (MOON)")
    assert "Venue: pump.fun curve\n" in text
    assert "Bonding curve: 0.05 % sold" in text
    assert "Market cap: 27.958993 SOL" in text


def test_a_graduated_coin_says_so_and_shows_no_curve_market_cap() -> None:
    text = card(
        venue="pumpswap", curve_progress_bps=10_000, curve_complete=True, market_cap_lamports=9
    )
    assert "Venue: PumpSwap" in text
    assert "Bonding curve: complete (graduated to PumpSwap)" in text
    assert "Market cap" not in text
    assert "Unknown token" in text  # no metadata at all


def test_forced_jupiter_is_named_on_the_card_with_or_without_a_route() -> None:
    assert "Venue: Jupiter (forced in /settings)\n" in card(venue="jupiter", force_jupiter=True)
    no_route = card(venue=None, tokens_per_sol=None, force_jupiter=True, curve_progress_bps=1234)
    assert "Venue: Jupiter (forced in /settings), no route there yet" in no_route
    assert "Bonding curve: 12.34 % sold" in no_route
    plain = card(venue="jupiter")
    assert "Venue: Jupiter\n" in plain
    assert "forced" not in plain
    assert "Bonding" not in plain


def settings(**fields: object) -> str:
    base: dict[str, object] = {
        "slippage_bps": 100,
        "snipe_slippage_bps": 1500,
        "priority_fee_level": "MEDIUM",
        "priority_fee_lamports": 10_000,
        "max_priority_fee_lamports": 10**6,
        "buy_presets_lamports": (10**8,),
        "has_pin": False,
    }
    base.update(fields)
    return render_settings(SettingsView(**base))  # type: ignore[arg-type]


def test_settings_show_the_order_options() -> None:
    off = settings()
    assert "MEV protection: off" in off
    assert "Jito tip: auto, the tip floor at the default percentile" in off
    assert "Venue: best for the coin (pump.fun curve, PumpSwap, else Jupiter)" in off
    on = settings(mev_protection=True, tip_percentile=99, force_jupiter=True)
    assert "MEV protection: on (Jito bundles only, never the public mempool)" in on
    assert "Jito tip: auto, p99 of the tip floor" in on
    assert "Venue: Force Jupiter (every order through Jupiter)" in on
    assert "Jito tip: fixed 0.0015 SOL" in settings(jito_tip_lamports=1_500_000, tip_percentile=99)


CAP = 10_000_000


@pytest.mark.parametrize(
    ("typed", "lamports"),
    [
        ("auto", None),
        (" AUTO ", None),
        ("0.000001", 1_000),
        ("0.01", CAP),
        ("0,002 SOL", 2 * 10**6),
    ],
)
def test_a_typed_tip_within_the_bounds_is_taken(typed: str, lamports: int | None) -> None:
    assert _parse_tip(typed, CAP) == lamports


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("-0.001", "A tip cannot be negative."),
        ("-0", "A tip cannot be negative."),
        ("0", "Tip not saved: a fixed tip must be above 0 SOL (send auto for the tip floor)."),
        ("0.0000000001", "Tip not saved: SOL has at most 9 decimal places."),
        ("0.000000999", "Tip not saved: Jito's minimum tip is 0.000001 SOL."),
        ("0.010000001", "Tip not saved: at most 0.01 SOL (the operator's limit)."),
        ("1e999999999999", "Tip not saved: the amount is too large: at most 1000000000 SOL."),
        ("nan", "Tip not saved: 'nan' is not a number; send an amount like 0.5."),
        ("", "Tip not saved: '' is not a number; send an amount like 0.5."),
    ],
)
def test_a_typed_tip_out_of_bounds_gets_its_own_sentence(typed: str, sentence: str) -> None:
    with pytest.raises(ControlError) as raised:
        _parse_tip(typed, CAP)
    assert raised.value.user_message == sentence
