"""One router per feature."""

from __future__ import annotations

from aiogram import Router

__all__ = ["all_routers"]


def all_routers() -> list[Router]:
    from sniper_bot.telegram.routers import admin, copy, home, limits, pnl, settings, trade, wallet
    from sniper_bot.telegram.routers import exits as exit_plans

    # wallet and settings first: their FSM states must win over trade's "paste a mint" handler
    return [
        admin.build(),
        home.build(),
        wallet.build(),
        settings.build(),
        pnl.build(),
        limits.build(),  # /limit, /dca (before trade's catch-alls)
        copy.build(),  # /copy add|list|remove (copy trading)
        exit_plans.build(),  # /exits, /ladder, /exit ID (ladders, sell with the creator)
        trade.build(),
    ]
