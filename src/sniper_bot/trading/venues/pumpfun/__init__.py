"""pump.fun bonding-curve venue: curve math and fee tiers, the venue, the program's errors."""

from sniper_bot.trading.venues.pumpfun.venue import VENUE, CurveState, PumpFunVenue

__all__ = ["VENUE", "CurveState", "PumpFunVenue"]
