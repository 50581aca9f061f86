"""Helius' `getPriorityFeeEstimate` (its Atlas priority-fee estimator), served on the endpoint
named helius only: elsewhere it is `-32601 Method not found`, as on another provider.

Percentiles of the compute-unit prices (micro-lamports) of the transactions that landed in the
last `lookbackSlots` slots (default 50, 1..150 here) writing one of the accounts (the
transaction's writable keys, or `accountKeys`; every transaction when none): `min` 0th, `low`
25th, `medium` 50th (the default and `recommended`), `high` 75th, `veryHigh` 95th, `unsafeMax`
100th. `evaluateEmptySlotAsZero` counts each such slot without a matching transaction as 0.
"""

from __future__ import annotations

import math
from typing import Any

from solders.pubkey import Pubkey

from localnet.cluster import Cluster, writable_flags
from localnet.rpc import params as p
from localnet.rpc.accounts import Handler
from localnet.rpc.errors import invalid_params

LEVELS = {
    "Min": ("min", 0),
    "Low": ("low", 25),
    "Medium": ("medium", 50),
    "High": ("high", 75),
    "VeryHigh": ("veryHigh", 95),
    "UnsafeMax": ("unsafeMax", 100),
}
DEFAULT_LOOKBACK_SLOTS = 50
MAX_LOOKBACK_SLOTS = 150  # localnet keeps 150 slots of fees
MAX_ACCOUNT_KEYS = 500
REQUEST_FIELDS = frozenset({"transaction", "accountKeys", "options"})
OPTION_FIELDS = frozenset(
    {
        "transactionEncoding",
        "priorityLevel",
        "includeAllPriorityFeeLevels",
        "lookbackSlots",
        "includeVote",
        "recommended",
        "evaluateEmptySlotAsZero",
    }
)
CUSTOM_CONTROLS = ("priorityLevel", "includeAllPriorityFeeLevels", "lookbackSlots", "includeVote")


def percentile(values: list[int], pct: int) -> float:
    """Nearest-rank percentile of sorted `values` (0 when empty)."""
    if not values:
        return 0.0
    rank = max(0, math.ceil(pct / 100 * len(values)) - 1)
    return float(values[rank])


def _accounts(request: dict[str, Any], options: dict[str, Any]) -> list[Pubkey]:
    if "transaction" in request and "accountKeys" in request:
        raise invalid_params("transaction and account_keys cannot both be provided")
    if "accountKeys" in request:
        keys = request["accountKeys"]
        if not isinstance(keys, list):
            raise invalid_params("invalid type: expected accountKeys as an array of pubkeys")
        if len(keys) > MAX_ACCOUNT_KEYS:
            raise invalid_params(f"number of account_keys must be <= {MAX_ACCOUNT_KEYS}")
        return [p.pubkey(k) for k in keys]
    if "transaction" in request:
        encoding = str(options.get("transactionEncoding", "base58")).lower()
        tx = p.transaction(request["transaction"], encoding)
        keys = list(tx.message.account_keys)
        return [k for k, w in zip(keys, writable_flags(tx.message), strict=True) if w]
    return []


def get_priority_fee_estimate(cluster: Cluster, params: Any) -> Any:
    (raw,) = p.positional(params, 1, 1)
    request = p.config(raw)
    options = p.config(request.get("options"))
    unknown = (set(request) - REQUEST_FIELDS) | (set(options) - OPTION_FIELDS)
    if unknown:
        raise invalid_params(f"unknown field `{sorted(unknown)[0]}`")
    if "recommended" in options and any(c in options for c in CUSTOM_CONTROLS):
        raise invalid_params(
            "recommended cannot be used with priority_level, include_all_priority_fee_levels, "
            "lookback_slots, include_vote"
        )
    level = options.get("priorityLevel", "Medium")
    if level not in LEVELS:
        raise invalid_params(f"unknown variant `{level}`, expected one of {list(LEVELS)}")
    lookback = options.get("lookbackSlots", DEFAULT_LOOKBACK_SLOTS)
    if not isinstance(lookback, int) or not 1 <= lookback <= MAX_LOOKBACK_SLOTS:
        raise invalid_params(f"lookbackSlots must be between 1 and {MAX_LOOKBACK_SLOTS}")
    wanted = set(_accounts(request, options))
    first = cluster.slot - lookback + 1
    samples: list[int] = []
    busy: set[int] = set()
    for slot, price, writable in cluster.history.recent_fees(first):
        if wanted and not (wanted & writable):
            continue
        samples.append(price)
        busy.add(slot)
    if options.get("evaluateEmptySlotAsZero"):
        samples += [0] * (lookback - len(busy))
    samples.sort()
    if options.get("includeAllPriorityFeeLevels"):
        return {"priorityFeeLevels": {n: percentile(samples, q) for n, q in LEVELS.values()}}
    return {"priorityFeeEstimate": percentile(samples, LEVELS[level][1])}


# methods served only by the endpoint of that name
ENDPOINT_HANDLERS: dict[str, dict[str, Handler]] = {
    "helius": {"getPriorityFeeEstimate": get_priority_fee_estimate},
}
