"""Hot path: from a decoded launch event to signed transaction bytes with no round trip.

Everything that can be known before a launch (signer, fees, tip, venue static accounts, the
order's durable nonce) is prepared at arm time; the path itself is pure CPU plus one socket
write. At most once by construction: every armed order owns a durable nonce account, its
transaction starts with AdvanceNonceAccount and uses the nonce value as recent blockhash, so
every copy or re-sign of one order can land at most once.
"""

from sniper_bot.hotpath.arming import ArmError, HotArming, PumpAccounts
from sniper_bot.hotpath.book import ArmedBook, ArmedBookSync
from sniper_bot.hotpath.sniper import (
    FiredBookkeeping,
    FiredSnipe,
    HotOrder,
    HotSniper,
    RiskDecision,
    TradingRecorder,
)

__all__ = [
    "ArmError",
    "ArmedBook",
    "ArmedBookSync",
    "FiredBookkeeping",
    "FiredSnipe",
    "HotArming",
    "HotOrder",
    "HotSniper",
    "PumpAccounts",
    "RiskDecision",
    "TradingRecorder",
]
