"""Chain-wide methods bots use: address history, block times, fees, supply, counts, identity,
epoch schedule and the leader schedule of localnet's single validator."""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from typing import Any

from solders.keypair import Keypair
from solders.message import from_bytes_versioned
from solders.pubkey import Pubkey

from localnet.cluster import COMPUTE_BUDGET_PROGRAM as COMPUTE_BUDGET
from localnet.cluster import GENESIS_SLOT, MEMO_PROGRAM, Cluster
from localnet.encoding import JsonDict
from localnet.history import CONFIRMATION_DEPTH, TxOutcome, confirmation_status
from localnet.rpc import params as p
from localnet.rpc.accounts import Handler, context_slot, wrap
from localnet.rpc.errors import RpcError, invalid_param, invalid_params

MAX_SIGNATURES_FOR_ADDRESS = 1_000
MAX_SLOT_LEADERS = 5_000
SLOTS_PER_EPOCH = 432_000
LAMPORTS_PER_SIGNATURE = 5_000
DEFAULT_INSTRUCTION_COMPUTE_UNITS = 200_000
BUILTIN_INSTRUCTION_COMPUTE_UNITS = 3_000
MAX_COMPUTE_UNITS = 1_400_000
MICRO_LAMPORTS = 1_000_000
BLOCK_NOT_AVAILABLE = -32004
SLOT_SKIPPED = -32009
MEMO_V1 = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
BUILTINS = frozenset(
    Pubkey.from_string(key)
    for key in (
        "11111111111111111111111111111111",
        "ComputeBudget111111111111111111111111111111",
        "Vote111111111111111111111111111111111111111",
        "Stake11111111111111111111111111111111111111",
        "Config1111111111111111111111111111111111111",
        "AddressLookupTab1e1111111111111111111111111",
        "BPFLoader2111111111111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "LoaderV411111111111111111111111111111111111",
        "KeccakSecp256k11111111111111111111111111111",
        "Ed25519SigVerify111111111111111111111111111",
    )
)
# agave's non-circulating supply has no meaning here; the supply is the faucet's genesis funding
GENESIS_SUPPLY = 10**18


def identity(cluster: Cluster) -> Pubkey:
    """The single validator's identity (deterministic from the seed): every slot's leader."""
    seed = hashlib.sha256(f"localnet-identity-{cluster.seed}".encode()).digest()
    return Keypair.from_seed(seed).pubkey()


def _confirmed_only(cfg: dict[str, Any]) -> int:
    depth = p.depth(cfg)
    if depth < CONFIRMATION_DEPTH:
        raise invalid_params("Method does not support commitment below `confirmed`")
    return depth


def memo_of(outcome: TxOutcome) -> str | None:
    """agave's `memo` field: each SPL Memo instruction as `[len] text`, joined by `; `."""
    tx = outcome.transaction
    if tx is None:
        return None
    keys = tx.message.account_keys
    memos = []
    for ix in tx.message.instructions:
        if keys[ix.program_id_index] in (MEMO_PROGRAM, MEMO_V1):
            text = bytes(ix.data).decode("utf-8", errors="replace")
            memos.append(f"[{len(text)}] {text}")
    return "; ".join(memos) if memos else None


def get_signatures_for_address(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    address = p.pubkey(key)
    c = p.config(cfg)
    depth = _confirmed_only(c)
    context_slot(cluster, c)
    limit = c.get("limit", MAX_SIGNATURES_FOR_ADDRESS)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise invalid_params("invalid type: expected limit as an integer")
    if limit < 1 or limit > MAX_SIGNATURES_FOR_ADDRESS:
        raise invalid_params(f"Invalid limit; max {MAX_SIGNATURES_FOR_ADDRESS}")
    before = p.signature(c["before"]) if "before" in c else None
    until = p.signature(c["until"]) if "until" in c else None
    found = cluster.history.signatures_for_address(
        address, max_slot=cluster.slot - depth, limit=limit, before=before, until=until
    )
    return [
        {
            "signature": str(o.signature),
            "slot": o.slot,
            "err": o.err,
            "memo": memo_of(o),
            "blockTime": o.block_time,
            "confirmationStatus": confirmation_status(o.slot, cluster.slot),
        }
        for o in found
    ]


def _slot_param(raw: Any) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise invalid_params("invalid type: expected a slot (u64)")
    return raw


def get_block_time(cluster: Cluster, params: Any) -> Any:
    (raw,) = p.positional(params, 1, 1)
    slot = _slot_param(raw)
    if slot > cluster.slot - CONFIRMATION_DEPTH:
        raise RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {slot}")
    if cluster.block_hashes(slot) is None:
        raise RpcError(SLOT_SKIPPED, f"Slot {slot} was skipped, or missing in long-term storage")
    return cluster.block_time(slot)


def message_fee(message: Any) -> int:
    """5,000 lamports per signature plus the priority fee: compute-unit price (micro-lamports)
    times the compute-unit limit (SetComputeUnitLimit, else 200,000 per instruction of a program
    that is not a builtin and 3,000 per builtin one), rounded up."""
    keys = message.account_keys
    price = 0
    limit: int | None = None
    default_limit = 0
    for ix in message.instructions:
        program = keys[ix.program_id_index]
        data = bytes(ix.data)
        if program == COMPUTE_BUDGET and data[:1] == b"\x02" and len(data) == 5:
            limit = int.from_bytes(data[1:5], "little")
        elif program == COMPUTE_BUDGET and data[:1] == b"\x03" and len(data) == 9:
            price = int.from_bytes(data[1:9], "little")
        builtin = program in BUILTINS
        default_limit += (
            BUILTIN_INSTRUCTION_COMPUTE_UNITS if builtin else DEFAULT_INSTRUCTION_COMPUTE_UNITS
        )
    units = min(MAX_COMPUTE_UNITS, default_limit if limit is None else limit)
    priority = math.ceil(price * units / MICRO_LAMPORTS)
    signatures = int(message.header.num_required_signatures)
    return LAMPORTS_PER_SIGNATURE * signatures + priority


def get_fee_for_message(cluster: Cluster, params: Any) -> Any:
    raw, cfg = p.positional(params, 1, 2)
    slot = context_slot(cluster, p.config(cfg))
    if not isinstance(raw, str):
        raise invalid_params("invalid type: expected a base-64 encoded message")
    try:
        message = from_bytes_versioned(base64.b64decode(raw, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise invalid_param(f"invalid base64 encoding: {exc}") from exc
    except Exception as exc:  # solders raises its own error types for bad bytes
        raise invalid_params(f"invalid transaction message: {exc}") from exc
    if not cluster.blockhash_valid(message.recent_blockhash):
        return wrap(slot, None)  # agave: null when the blockhash is not in the bank's queue
    return wrap(slot, message_fee(message))


def get_supply(cluster: Cluster, params: Any) -> Any:
    (cfg,) = p.positional(params, 0, 1)
    c = p.config(cfg)
    slot = context_slot(cluster, c)
    value: JsonDict = {
        "circulating": GENESIS_SUPPLY,
        "nonCirculating": 0,
        "nonCirculatingAccounts": [],  # none: `excludeNonCirculatingAccountsList` is moot
        "total": GENESIS_SUPPLY,
    }
    return wrap(slot, value)


def get_transaction_count(cluster: Cluster, params: Any) -> Any:
    (cfg,) = p.positional(params, 0, 1)
    slot = context_slot(cluster, p.config(cfg))
    return cluster.history.transaction_count_at(slot)


def get_identity(cluster: Cluster, params: Any) -> Any:
    p.positional(params, 0, 0)
    return {"identity": str(identity(cluster))}


def get_epoch_schedule(cluster: Cluster, params: Any) -> Any:
    p.positional(params, 0, 0)
    return {
        "firstNormalEpoch": 0,
        "firstNormalSlot": 0,
        "leaderScheduleSlotOffset": SLOTS_PER_EPOCH,
        "slotsPerEpoch": SLOTS_PER_EPOCH,
        "warmup": False,
    }


def get_slot_leaders(cluster: Cluster, params: Any) -> Any:
    raw_start, raw_limit = p.positional(params, 2, 2)
    start = _slot_param(raw_start)
    if not isinstance(raw_limit, int) or isinstance(raw_limit, bool) or raw_limit < 0:
        raise invalid_params("invalid type: expected a limit (u64)")
    if raw_limit > MAX_SLOT_LEADERS:
        raise invalid_params(f"Invalid limit; max {MAX_SLOT_LEADERS}")
    epoch_end = (cluster.slot // SLOTS_PER_EPOCH + 2) * SLOTS_PER_EPOCH
    if start < GENESIS_SLOT or start + raw_limit > epoch_end:
        raise invalid_params(
            f"Invalid slot range: leader schedule for epoch {start // SLOTS_PER_EPOCH} is "
            "unavailable"
        )
    return [str(identity(cluster))] * raw_limit


def get_leader_schedule(cluster: Cluster, params: Any) -> Any:
    raw_slot, cfg = p.positional(params, 0, 2)
    if isinstance(raw_slot, dict) and cfg is None:
        raw_slot, cfg = None, raw_slot
    c = p.config(cfg)
    slot = context_slot(cluster, c) if raw_slot is None else _slot_param(raw_slot)
    epoch = slot // SLOTS_PER_EPOCH
    if epoch > cluster.slot // SLOTS_PER_EPOCH + 1:
        return None  # agave: no schedule for an epoch beyond the next
    leader = str(identity(cluster))
    wanted = c.get("identity")
    if wanted is not None and wanted != leader:
        return {}
    return {leader: list(range(SLOTS_PER_EPOCH))}


HANDLERS: dict[str, Handler] = {
    "getSignaturesForAddress": get_signatures_for_address,
    "getBlockTime": get_block_time,
    "getFeeForMessage": get_fee_for_message,
    "getSupply": get_supply,
    "getTransactionCount": get_transaction_count,
    "getIdentity": get_identity,
    "getEpochSchedule": get_epoch_schedule,
    "getSlotLeaders": get_slot_leaders,
    "getLeaderSchedule": get_leader_schedule,
}
