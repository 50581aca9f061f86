"""Swap venues: one folder per venue behind the ``Venue`` port (``sniper_bot.trading.venue``)."""
