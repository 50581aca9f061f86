"""Jupiter Swap API ("Metis" v1, legacy v6) venue: constants, wire mapping, HTTP client."""

from sniper_bot.trading.venues.jupiter.client import JupiterClient, JupiterVenue, normalize_base_url

__all__ = ["JupiterClient", "JupiterVenue", "normalize_base_url"]
