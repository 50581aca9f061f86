"""One router per feature."""

from __future__ import annotations

from aiogram import Router

__all__ = ["all_routers"]


def all_routers() -> list[Router]:
    from sniper_bot.telegram.routers import admin, copy, home, limits, pnl, settings, trade, wallet

    # wallet and settings first: their FSM states must win over trade's "paste a mint" handler
    return [
        admin.build(),
        home.build(),
        wallet.build(),
        settings.build(),
        pnl.build(),
        limits.build(),  # /limit, /dca (before trade's catch-alls)
        copy.build(),  # /copy add|list|remove (copy trading)
        trade.build(),
    ]
