"""Transaction methods: send, simulate, statuses, getTransaction, prioritization fees, airdrop."""

from __future__ import annotations

import base64
from typing import Any

from solders.message import MessageV0
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster, writable_flags
from localnet.encoding import (
    EncodingError,
    JsonDict,
    account_to_rpc,
    b58,
    transaction_error_display,
)
from localnet.history import CONFIRMATION_DEPTH, InnerGroups, SimOutcome, TxOutcome
from localnet.rpc import params as p
from localnet.rpc.accounts import Handler, context_slot, wrap
from localnet.rpc.errors import (
    INVALID_PARAMS,
    PREFLIGHT_FAILURE,
    SIGNATURE_VERIFICATION_FAILURE,
    UNSUPPORTED_TRANSACTION_VERSION,
    RpcError,
    invalid_params,
)
from localnet.rpc.parsed import parse_instruction, parsed_transaction

MAX_SIGNATURE_STATUSES = 256
MAX_FEE_ACCOUNTS = 128


def _return_data(rd: Any) -> JsonDict | None:
    if rd is None:
        return None
    program, data = rd
    return {"programId": str(program), "data": [base64.b64encode(data).decode(), "base64"]}


def all_keys(tx: VersionedTransaction, loaded: Any = ((), ())) -> list[Any]:
    """The keys inner instructions index: static keys, then the lookup-table addresses
    (writable, then readonly)."""
    return [*tx.message.account_keys, *loaded[0], *loaded[1]]


def inner_json(groups: InnerGroups) -> list[JsonDict]:
    """`innerInstructions` of a `json` / binary-encoded meta: compiled instructions (account
    indexes, base-58 data) with their stack height."""
    return [
        {
            "index": index,
            "instructions": [
                {
                    "accounts": list(ix.accounts),
                    "data": b58(ix.data),
                    "programIdIndex": ix.program_id_index,
                    "stackHeight": ix.stack_height,
                }
                for ix in instructions
            ],
        }
        for index, instructions in groups
    ]


def inner_parsed(groups: InnerGroups, keys: list[Any]) -> list[JsonDict]:
    """`innerInstructions` as agave's parser renders them (`jsonParsed` metas and simulations):
    System / SPL Token / ATA / Memo parsed, any other program `{accounts, data, programId}`."""
    out = []
    for index, instructions in groups:
        rendered = []
        for ix in instructions:
            if ix.program_id_index >= len(keys) or any(a >= len(keys) for a in ix.accounts):
                continue  # a key the message cannot name (not loaded): nothing to render
            entry = parse_instruction(
                keys[ix.program_id_index], [keys[a] for a in ix.accounts], ix.data
            )
            entry["stackHeight"] = ix.stack_height
            rendered.append(entry)
        out.append({"index": index, "instructions": rendered})
    return out


def simulation_value(
    sim: SimOutcome,
    accounts: list[JsonDict | None] | None,
    inner: bool,
    keys: list[Any] | None = None,
) -> JsonDict:
    """`RpcSimulateTransactionResult` (also the `data` of a -32002 preflight failure). Inner
    instructions (when asked) are parsed as agave parses them for simulations; `keys` are the
    transaction's loaded keys."""
    replacement = None
    if sim.replacement_blockhash is not None:
        blockhash, last_valid = sim.replacement_blockhash
        replacement = {"blockhash": blockhash, "lastValidBlockHeight": last_valid}
    return {
        "err": sim.err,
        "logs": list(sim.logs),
        "accounts": accounts,
        "unitsConsumed": sim.units_consumed,
        "loadedAccountsDataSize": sim.loaded_accounts_data_size,
        "returnData": _return_data(sim.return_data),
        "innerInstructions": inner_parsed(sim.inner_instructions, keys or []) if inner else None,
        "replacementBlockhash": replacement,
        "fee": sim.fee if sim.err is None else None,
        "preBalances": list(sim.pre_balances) if sim.err is None else None,
        "postBalances": list(sim.post_balances) if sim.err is None else None,
        "preTokenBalances": [t.to_rpc() for t in sim.pre_token_balances]
        if sim.err is None
        else None,
        "postTokenBalances": (
            [t.to_rpc() for t in sim.post_token_balances] if sim.err is None else None
        ),
        "loadedAddresses": None,
    }


def send_transaction(cluster: Cluster, params: Any) -> Any:
    raw, cfg = p.positional(params, 1, 2)
    c = p.config(cfg)
    tx = p.transaction(raw, c.get("encoding", "base58"))
    if not c.get("skipPreflight", False):
        sim = cluster.simulate_transaction(tx, sig_verify=True)
        if sim.err == "SignatureFailure":
            raise RpcError(
                SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure"
            )
        if sim.err is not None:
            raise RpcError(
                PREFLIGHT_FAILURE,
                f"Transaction simulation failed: {transaction_error_display(sim.err)}",
                simulation_value(sim, None, False),
            )
    # with block building it lands when the slot's block is produced (getSignatureStatuses
    # answers null until then), as a leader's block on mainnet
    return str(cluster.submit_transaction(tx))


def simulate_transaction(cluster: Cluster, params: Any) -> Any:
    raw, cfg = p.positional(params, 1, 2)
    c = p.config(cfg)
    tx = p.transaction(raw, c.get("encoding", "base58"))
    sig_verify = bool(c.get("sigVerify", False))
    replace = bool(c.get("replaceRecentBlockhash", False))
    if sig_verify and replace:
        raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
    slot = context_slot(cluster, c)
    sim = cluster.simulate_transaction(tx, sig_verify=sig_verify, replace_recent_blockhash=replace)
    accounts: list[JsonDict | None] | None = None
    spec = c.get("accounts")
    if isinstance(spec, dict) and sim.err is None:
        addresses = [p.pubkey(a) for a in spec.get("addresses", [])]
        encoding = p.account_encoding(spec)
        accounts = []
        for address in addresses:
            account = sim.post_accounts.get(address) or cluster.get_account(address)
            try:
                rendered = (
                    None
                    if account is None
                    else account_to_rpc(account, encoding=encoding, decimals_of=cluster.decimals_of)
                )
            except EncodingError as exc:
                raise RpcError(INVALID_PARAMS, str(exc)) from exc
            accounts.append(rendered)
    keys = cluster.loaded_keys(tx)
    return wrap(slot, simulation_value(sim, accounts, bool(c.get("innerInstructions")), keys))


def get_signature_statuses(cluster: Cluster, params: Any) -> Any:
    """Without `searchTransactionHistory` only the status cache answers (the last 300 slots, as
    agave's); with it, the transaction history too."""
    sigs, cfg = p.positional(params, 1, 2)
    if not isinstance(sigs, list):
        raise invalid_params("invalid type: expected an array of signatures")
    if len(sigs) > MAX_SIGNATURE_STATUSES:
        raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
    search = bool(p.config(cfg).get("searchTransactionHistory", False))
    parsed = [p.signature(s) for s in sigs]
    statuses = [cluster.history.status_json(s, cluster.slot, search_history=search) for s in parsed]
    return wrap(cluster.slot, statuses)


def _ui_transaction(tx: VersionedTransaction) -> JsonDict:
    msg = tx.message
    keys = list(msg.account_keys)
    message: JsonDict = {
        "accountKeys": [str(k) for k in keys],
        "header": {
            "numReadonlySignedAccounts": msg.header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": msg.header.num_readonly_unsigned_accounts,
            "numRequiredSignatures": msg.header.num_required_signatures,
        },
        "instructions": [
            {
                "accounts": list(ix.accounts),
                "data": b58(bytes(ix.data)),
                "programIdIndex": ix.program_id_index,
                "stackHeight": None,
            }
            for ix in msg.instructions
        ],
        "recentBlockhash": str(msg.recent_blockhash),
    }
    if isinstance(msg, MessageV0):
        message["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "readonlyIndexes": list(lookup.readonly_indexes),
                "writableIndexes": list(lookup.writable_indexes),
            }
            for lookup in msg.address_table_lookups
        ]
    return {"message": message, "signatures": [str(s) for s in tx.signatures]}


def transaction_json(outcome: TxOutcome, encoding: str) -> JsonDict:
    """A `getTransaction` result (`json`, `jsonParsed`, base64, base58)."""
    tx = outcome.transaction
    if tx is None:  # pragma: no cover - every recorded outcome carries its transaction
        raise RpcError(INVALID_PARAMS, "transaction body not recorded")
    rendered: Any
    if encoding == "base64":
        rendered = [base64.b64encode(bytes(tx)).decode(), "base64"]
    elif encoding == "base58":
        rendered = [b58(bytes(tx)), "base58"]
    elif encoding == "jsonParsed":
        rendered = parsed_transaction(tx)
    else:
        rendered = _ui_transaction(tx)
    meta: JsonDict = {
        "computeUnitsConsumed": outcome.units_consumed,
        "err": outcome.err,
        "fee": outcome.fee,
        "innerInstructions": (
            inner_parsed(outcome.inner_instructions, all_keys(tx, outcome.loaded_addresses))
            if encoding == "jsonParsed"
            else inner_json(outcome.inner_instructions)
        ),
        "loadedAddresses": {
            "readonly": [str(k) for k in outcome.loaded_addresses[1]],
            "writable": [str(k) for k in outcome.loaded_addresses[0]],
        },
        "logMessages": list(outcome.logs),
        "postBalances": list(outcome.post_balances),
        "postTokenBalances": [t.to_rpc() for t in outcome.post_token_balances],
        "preBalances": list(outcome.pre_balances),
        "preTokenBalances": [t.to_rpc() for t in outcome.pre_token_balances],
        "rewards": [],
        "status": {"Ok": None} if outcome.err is None else {"Err": outcome.err},
    }
    if encoding == "jsonParsed":
        del meta["loadedAddresses"]  # agave skips it in parsed metas
    if outcome.return_data is not None:
        meta["returnData"] = _return_data(outcome.return_data)
    version: Any = 0 if isinstance(tx.message, MessageV0) else "legacy"
    return {
        "blockTime": outcome.block_time,
        "meta": meta,
        "slot": outcome.slot,
        "transaction": rendered,
        "version": version,
    }


def get_transaction(cluster: Cluster, params: Any) -> Any:
    raw, cfg = p.positional(params, 1, 2)
    signature = p.signature(raw)
    c = p.config(cfg) if not isinstance(cfg, str) else {"encoding": cfg}
    depth = p.depth(c)
    if depth < CONFIRMATION_DEPTH:
        raise invalid_params("Method does not support commitment below `confirmed`")
    encoding = c.get("encoding", "json")
    if encoding not in ("json", "jsonParsed", "base64", "base58"):
        raise invalid_params(f"unknown variant `{encoding}`")
    outcome = cluster.history.get(signature)
    if outcome is None or outcome.slot > cluster.slot - depth:
        return None
    _require_version(outcome.transaction, c)
    return transaction_json(outcome, encoding)


BLOCK_NOT_AVAILABLE = -32004
SLOT_SKIPPED = -32009
TRANSACTION_DETAILS = ("full", "signatures", "none", "accounts")


def _require_version(tx: VersionedTransaction | None, cfg: dict[str, Any]) -> None:
    v0 = tx is not None and isinstance(tx.message, MessageV0)
    if v0 and cfg.get("maxSupportedTransactionVersion") is None:
        raise RpcError(
            UNSUPPORTED_TRANSACTION_VERSION,
            "Transaction version (0) is not supported by the requesting client. Please try the "
            "request again with the following configuration parameter: "
            '"maxSupportedTransactionVersion": 0',
        )


def _account_entry(key: Any, index: int, tx: VersionedTransaction | None) -> JsonDict:
    """An `accounts`-detail key entry: signer and writable from the message header."""
    header = tx.message.header if tx is not None else None
    signer = header is not None and index < header.num_required_signatures
    writable = tx is not None and writable_flags(tx.message)[index]
    return {"pubkey": str(key), "signer": signer, "source": "transaction", "writable": writable}


def get_block(cluster: Cluster, params: Any) -> Any:
    """A produced block with its transactions in execution order (the order a leader chose)."""
    raw_slot, cfg = p.positional(params, 1, 2)
    if not isinstance(raw_slot, int) or isinstance(raw_slot, bool) or raw_slot < 0:
        raise invalid_params("invalid type: expected a slot (u64)")
    c = p.config(cfg) if not isinstance(cfg, str) else {"encoding": cfg}
    depth = p.depth(c)
    if depth < CONFIRMATION_DEPTH:
        raise invalid_params("Method does not support commitment below `confirmed`")
    encoding = c.get("encoding", "json")
    if encoding not in ("json", "jsonParsed", "base64", "base58"):
        raise invalid_params(f"unknown variant `{encoding}`")
    details = c.get("transactionDetails", "full")
    if details not in TRANSACTION_DETAILS:
        raise invalid_params(f"unknown variant `{details}`, expected one of {TRANSACTION_DETAILS}")
    if raw_slot > cluster.slot - depth:
        raise RpcError(BLOCK_NOT_AVAILABLE, f"Block not available for slot {raw_slot}")
    hashes = cluster.block_hashes(raw_slot)
    if hashes is None:
        raise RpcError(
            SLOT_SKIPPED, f"Slot {raw_slot} was skipped, or missing in long-term storage"
        )
    outcomes = cluster.history.block(raw_slot)
    block: JsonDict = {
        "blockHeight": raw_slot,  # no skipped slots: the block height follows the slot
        "blockTime": cluster.block_time(raw_slot),
        "blockhash": str(hashes[0]),
        "parentSlot": raw_slot - 1,
        "previousBlockhash": str(hashes[1]),
    }
    if details == "signatures":
        block["signatures"] = [str(o.signature) for o in outcomes]
    elif details != "none":
        transactions = []
        for outcome in outcomes:
            _require_version(outcome.transaction, c)
            rendered = transaction_json(outcome, encoding)
            entry: JsonDict = {"meta": rendered["meta"], "version": rendered["version"]}
            if details == "full":
                entry["transaction"] = rendered["transaction"]
            else:  # accounts
                tx = outcome.transaction
                keys = list(tx.message.account_keys) if tx is not None else []
                entry["transaction"] = {
                    "accountKeys": [_account_entry(k, i, tx) for i, k in enumerate(keys)],
                    "signatures": [str(s) for s in tx.signatures] if tx is not None else [],
                }
            transactions.append(entry)
        block["transactions"] = transactions
    if c.get("rewards", True):
        block["rewards"] = []
    return block


def get_recent_prioritization_fees(cluster: Cluster, params: Any) -> Any:
    (keys,) = p.positional(params, 0, 1)
    keys = keys or []
    if not isinstance(keys, list):
        raise invalid_params("invalid type: expected an array of pubkeys")
    if len(keys) > MAX_FEE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_FEE_ACCOUNTS}")
    return cluster.history.prioritization_fees(cluster.slot, [p.pubkey(k) for k in keys])


def request_airdrop(cluster: Cluster, params: Any) -> Any:
    key, lamports, _cfg = p.positional(params, 2, 3)
    pubkey = p.pubkey(key)
    if not isinstance(lamports, int):
        raise invalid_params("invalid type: expected lamports as an integer")
    try:
        return str(cluster.airdrop(pubkey, lamports))
    except ValueError as exc:
        raise RpcError(-32600, str(exc)) from exc


HANDLERS: dict[str, Handler] = {
    "sendTransaction": send_transaction,
    "simulateTransaction": simulate_transaction,
    "getSignatureStatuses": get_signature_statuses,
    "getTransaction": get_transaction,
    "getBlock": get_block,
    "getRecentPrioritizationFees": get_recent_prioritization_fees,
    "requestAirdrop": request_airdrop,
}
