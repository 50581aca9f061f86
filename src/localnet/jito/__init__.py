"""A Jito-compatible block engine for localnet: bundles of up to 5 transactions landed atomically,
in order, at the top of the next block; tips to Jito's mainnet tip accounts; statuses; tip floor.

`BlockEngine` (`localnet.jito.engine`) is the state, plugged into the cluster as a block hook;
`JitoEndpoint` (`localnet.jito.server`) serves Jito's JSON-RPC on its own port; the control API
routes are in `localnet.jito.control`. See docs/LOCALNET.md, "Jito block engine".
"""

from localnet.jito.engine import DEFAULT_TIP_FLOOR, TIP_ACCOUNTS, BlockEngine, JitoError, bundle_id
from localnet.jito.server import JitoEndpoint

__all__ = [
    "DEFAULT_TIP_FLOOR",
    "TIP_ACCOUNTS",
    "BlockEngine",
    "JitoEndpoint",
    "JitoError",
    "bundle_id",
]
