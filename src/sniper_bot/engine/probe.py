"""``QuoteRouteProbe``: "can this mint be bought with SOL right now?", asked of the venue.

On mainnet Jupiter cannot route a brand-new pool for its first seconds to minutes; a risk check
run before that sees "no pool" and blocks the token. The engine asks this probe first (a small
quote) and only then runs the risk check and the buys.
"""

from __future__ import annotations

import structlog

from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.ports.venue import NoRouteError, Quoter, TradingError

__all__ = ["QuoteRouteProbe"]

log = structlog.get_logger(__name__)


class QuoteRouteProbe:
    def __init__(
        self, venue: Quoter, *, probe_lamports: int = 10_000_000, slippage_bps: int = 5_000
    ) -> None:
        self._venue = venue
        self._lamports = probe_lamports
        self._slippage_bps = slippage_bps

    async def routable(self, mint: str) -> bool:
        try:
            await self._venue.quote(WSOL_MINT, mint, self._lamports, self._slippage_bps)
        except NoRouteError:
            return False
        except TradingError as exc:  # venue down or refusing: not routable *now*
            log.info("route_probe_failed", mint=mint, error=exc.message)
            return False
        return True
