"""The ``Venue`` port, re-exported for trading's venues: it lives in ``sniper_bot.ports.venue``
(one quoting port for trading, the snipe engine, the position monitor, safety and the facade).

Jupiter is the first implementation; direct pool venues (pump.fun, PumpSwap, Raydium) are
siblings under ``venues/`` because Jupiter cannot route a brand-new pool at first.
"""

from __future__ import annotations

from sniper_bot.ports.venue import Quoter, Venue

__all__ = ["Quoter", "Venue"]
