"""One line of counts per chaos scenario, for the closing note (run pytest with ``-s``).

``summarise`` counts through ``orders.tally`` (the ``"SniperOrder"`` and ``"Trade"`` rows, the
swaps the users' wallets signed that executed without error on chain, the result messages each
order has in its owner's chat) and prints ``Tally.line``: orders created / confirmed / failed /
non-final, swaps on chain vs "Trade" rows, result messages per order, generic error replies.
"""

from __future__ import annotations

from collections.abc import Iterable

from solders.pubkey import Pubkey

from e2e.harness import BotUnderTest

from .orders import Tally, tally

__all__ = ["summarise"]


async def summarise(
    scenario: str,
    bot: BotUnderTest,
    database_url: str,
    wallets: Iterable[Pubkey],
    *,
    extra: str = "",
) -> Tally:
    """Count what the scenario left behind and print it as one line; returns the counts."""
    result = await tally(database_url, bot.net, bot.txs, wallets)
    print(result.line(scenario) + (f" | {extra}" if extra else ""), flush=True)
    return result
