"""Exit plan text as /exit takes it (``control.exits.apply_plan_text``) and the exit-plan buttons'
callback data (Telegram's 64-byte limit, forged data refused)."""

from __future__ import annotations

import pytest

from sniper_bot.control.exits import PositionExitView, apply_plan_text, plan_text
from sniper_bot.control.views import ControlError
from sniper_bot.domain.exits import ExitRule, LadderStep
from sniper_bot.telegram.routers.exits import PositionExitCb, position_kb

BASE = ExitRule(stop_loss_pct=30)


def test_only_the_named_rules_change() -> None:
    rule = apply_plan_text(BASE, "ladder 2x:50 4x:25 trail 15 dev on")
    assert rule == ExitRule(
        stop_loss_pct=30,
        trailing_stop_pct=15,
        ladder=(LadderStep(100, 50), LadderStep(300, 25)),
        sell_with_creator=True,
    )
    assert apply_plan_text(rule, "sl off ladder off dev off tp 200") == ExitRule(
        take_profit_pct=200, trailing_stop_pct=15
    )
    assert plan_text(rule) == (
        "ladder 50% at 2x, 25% at 4x; stop-loss -30%; trailing stop -15% from the peak; "
        "sell when the creator sells"
    )
    assert plan_text(ExitRule()) == "off"


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("", "Say what to change"),
        ("moon 5", "'moon' is not an exit rule"),
        ("sl", "sl needs a value"),
        ("sl 100", "Stop-loss must be a whole number from 1 to 99"),
        ("hold 5 6", "hold takes one value"),
        ("dev maybe", "dev is on or off"),
        ("ladder 2x:60 3x:50", "at most 100 %"),
    ],
)
def test_every_bad_clause_has_its_sentence(text: str, sentence: str) -> None:
    with pytest.raises(ControlError) as caught:
        apply_plan_text(BASE, text)
    assert sentence in caught.value.user_message


def test_two_bad_clauses_are_both_named() -> None:
    with pytest.raises(ControlError) as caught:
        apply_plan_text(BASE, "sl 0x trail 200")
    message = caught.value.user_message
    assert "Stop-loss" in message
    assert "Trailing stop" in message


def test_position_buttons_fit_telegrams_limit_and_forged_data_is_refused() -> None:
    view = PositionExitView(2**63 - 1, "M" * 44, 1, True, "off", True)
    rows = position_kb(view).inline_keyboard
    datas = [b.callback_data or "" for row in rows for b in row]
    assert all(len(d.encode()) <= 64 for d in datas)
    assert PositionExitCb.unpack(datas[0]) == PositionExitCb(position_id=2**63 - 1, action="c0")
    with pytest.raises(ValueError, match="position_id"):
        PositionExitCb.unpack("xp:abc:v")
