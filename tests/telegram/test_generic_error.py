"""The generic error sentence claims nothing it cannot know (issue 10 item 2).

It is sent for an exception nobody turned into a sentence, which may come after an order row was
written or a swap was sent: it must not say "Nothing was lost", and it says where the truth is.
"""

from __future__ import annotations

from sniper_bot.telegram.middlewares import GENERIC_ERROR


def test_the_generic_error_makes_no_claim_about_money_and_points_to_orders() -> None:
    lowered = GENERIC_ERROR.lower()
    assert "nothing was lost" not in lowered
    assert "nothing happened" not in lowered
    assert "/orders" in GENERIC_ERROR
    assert len(GENERIC_ERROR) < 200
