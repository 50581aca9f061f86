"""New-token / new-pool detection: one listener per source behind one small base.

``LaunchDetector`` runs the listeners over a dedicated ``SubscriptionManager`` and emits one
``LaunchEvent`` per pool (mint + pool address); ``PumpFunListener`` decodes pump.fun ``Create``
logs, and ``RaydiumV4Listener`` decodes ``AmmInfo`` accounts.
"""

from sniper_bot.detection.base import DecodeError, LaunchListener
from sniper_bot.detection.detector import LaunchDetector, LaunchSink
from sniper_bot.detection.pumpfun import PumpFunListener, parse_create_event
from sniper_bot.detection.raydium import RaydiumV4Listener

__all__ = [
    "DecodeError",
    "LaunchDetector",
    "LaunchListener",
    "LaunchSink",
    "PumpFunListener",
    "RaydiumV4Listener",
    "parse_create_event",
]
