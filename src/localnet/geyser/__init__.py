"""Localnet's Yellowstone gRPC (Geyser) endpoints: `install` the feed on a cluster, serve it with
one `GeyserEndpoint` per name/port (see `feed`, `filters`, `server`)."""

from localnet.geyser.feed import GeyserFeed, GeyserTap, Subscription, install
from localnet.geyser.filters import FilterError, Filters, compile_request
from localnet.geyser.server import GeyserEndpoint, GeyserFaults

__all__ = [
    "FilterError",
    "Filters",
    "GeyserEndpoint",
    "GeyserFaults",
    "GeyserFeed",
    "GeyserTap",
    "Subscription",
    "compile_request",
    "install",
]
