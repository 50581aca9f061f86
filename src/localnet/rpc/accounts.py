"""Read methods: slots, blockhash, balances, accounts, program accounts, token queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from solders.account import Account
from solders.hash import Hash

from localnet.cluster import Cluster
from localnet.encoding import (
    TOKEN_PROGRAMS,
    EncodingError,
    JsonDict,
    account_to_rpc,
    mint_fields,
    token_account_fields,
    token_account_kind,
    ui_token_amount,
)
from localnet.pubsub import parse_filters
from localnet.rpc import params as p
from localnet.rpc.errors import (
    INVALID_PARAMS,
    RpcError,
    invalid_param,
    invalid_params,
    min_context_slot_not_reached,
)
from localnet.rpc.parsed import SYSTEM_PROGRAM, parse_nonce_account

API_VERSION = "2.2.7"
MAX_MULTIPLE_ACCOUNTS = 100
LARGEST_ACCOUNTS = 20

Handler = Callable[[Cluster, Any], Any]


def context_slot(cluster: Cluster, cfg: dict[str, Any]) -> int:
    """The slot a read is answered at; enforces `minContextSlot` (-32016)."""
    slot = cluster.slot_at(p.depth(cfg))
    minimum = cfg.get("minContextSlot")
    if isinstance(minimum, int) and minimum > slot:
        raise min_context_slot_not_reached(slot)
    return slot


def wrap(slot: int, value: Any) -> JsonDict:
    return {"context": {"apiVersion": API_VERSION, "slot": slot}, "value": value}


def render(cluster: Cluster, account: Account, cfg: dict[str, Any]) -> JsonDict:
    encoding = p.account_encoding(cfg)
    try:
        rendered = account_to_rpc(
            account,
            encoding=encoding,
            data_slice=p.data_slice(cfg),
            decimals_of=cluster.decimals_of,
        )
    except EncodingError as exc:
        raise RpcError(INVALID_PARAMS, str(exc)) from exc
    if encoding == "jsonParsed" and account.owner == SYSTEM_PROGRAM:
        nonce = parse_nonce_account(bytes(account.data))  # agave parses System data as nonces
        if nonce is not None:
            rendered["data"] = nonce
    return rendered


def get_health(cluster: Cluster, params: Any) -> Any:
    p.positional(params, 0, 0)
    return "ok"


def get_slot(cluster: Cluster, params: Any) -> Any:
    (cfg,) = p.positional(params, 0, 1)
    return context_slot(cluster, p.config(cfg))


def get_block_height(cluster: Cluster, params: Any) -> Any:
    (cfg,) = p.positional(params, 0, 1)
    c = p.config(cfg)
    context_slot(cluster, c)
    return cluster.block_height_at(p.depth(c))


def get_latest_blockhash(cluster: Cluster, params: Any) -> Any:
    (cfg,) = p.positional(params, 0, 1)
    slot = context_slot(cluster, p.config(cfg))
    value = {
        "blockhash": str(cluster.latest_blockhash()),
        "lastValidBlockHeight": cluster.last_valid_block_height(),
    }
    return wrap(slot, value)


def is_blockhash_valid(cluster: Cluster, params: Any) -> Any:
    raw, cfg = p.positional(params, 1, 2)
    slot = context_slot(cluster, p.config(cfg))
    try:
        blockhash = Hash.from_string(raw)
    except (ValueError, TypeError) as exc:
        raise invalid_param("Invalid") from exc
    return wrap(slot, cluster.blockhash_valid(blockhash))


def get_balance(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    pubkey = p.pubkey(key)
    slot = context_slot(cluster, p.config(cfg))
    return wrap(slot, cluster.get_balance(pubkey))


def get_account_info(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    pubkey = p.pubkey(key)
    c = p.config(cfg)
    slot = context_slot(cluster, c)
    account = cluster.get_account(pubkey)
    return wrap(slot, None if account is None else render(cluster, account, c))


def get_multiple_accounts(cluster: Cluster, params: Any) -> Any:
    keys, cfg = p.positional(params, 1, 2)
    if not isinstance(keys, list):
        raise invalid_params("invalid type: expected an array of pubkeys")
    if len(keys) > MAX_MULTIPLE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
    pubkeys = [p.pubkey(k) for k in keys]
    c = p.config(cfg)
    slot = context_slot(cluster, c)
    out = []
    for pubkey in pubkeys:
        account = cluster.get_account(pubkey)
        out.append(None if account is None else render(cluster, account, c))
    return wrap(slot, out)


def get_program_accounts(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    program = p.pubkey(key)
    c = p.config(cfg)
    slot = context_slot(cluster, c)
    try:
        filters = parse_filters(c.get("filters"))
    except ValueError as exc:
        raise invalid_params(str(exc)) from exc
    out = [
        {"pubkey": str(address), "account": render(cluster, account, c)}
        for address, account in cluster.program_accounts(program)
        if filters.matches(bytes(account.data))
    ]
    return wrap(slot, out) if c.get("withContext") else out


def get_minimum_balance_for_rent_exemption(cluster: Cluster, params: Any) -> Any:
    size, _cfg = p.positional(params, 1, 2)
    if not isinstance(size, int) or size < 0:
        raise invalid_params("invalid type: expected a data length")
    return cluster.svm.minimum_balance_for_rent_exemption(size)


def get_version(cluster: Cluster, params: Any) -> Any:
    p.positional(params, 0, 0)
    return {"solana-core": API_VERSION, "feature-set": 3294202862}


def get_genesis_hash(cluster: Cluster, params: Any) -> Any:
    p.positional(params, 0, 0)
    return "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d"


def get_epoch_info(cluster: Cluster, params: Any) -> Any:
    (cfg,) = p.positional(params, 0, 1)
    slot = context_slot(cluster, p.config(cfg))
    return {
        "absoluteSlot": slot,
        "blockHeight": cluster.block_height_at(p.depth(p.config(cfg))),
        "epoch": slot // 432_000,
        "slotIndex": slot % 432_000,
        "slotsInEpoch": 432_000,
        "transactionCount": cluster.history.transaction_count_at(slot),
    }


# -- token queries --------------------------------------------------------------------------------
def get_token_accounts_by_owner(cluster: Cluster, params: Any) -> Any:
    key, flt, cfg = p.positional(params, 2, 3)
    owner = p.pubkey(key)
    if not isinstance(flt, dict) or len(flt) != 1 or not ({"mint", "programId"} & set(flt)):
        raise invalid_params('expected a filter object {"mint": ...} or {"programId": ...}')
    c = p.config(cfg)
    slot = context_slot(cluster, c)
    if "mint" in flt:
        mint = p.pubkey(flt["mint"])
        mint_account = cluster.get_account(mint)
        if mint_account is None or mint_account.owner not in TOKEN_PROGRAMS:
            raise invalid_param("could not find mint")
        found = cluster.token_accounts_by_owner(owner, mint=mint, program=mint_account.owner)
    else:
        program = p.pubkey(flt["programId"])
        if program not in TOKEN_PROGRAMS:
            raise invalid_param("unrecognized Token program id")
        found = cluster.token_accounts_by_owner(owner, program=program)
    value = [{"pubkey": str(a), "account": render(cluster, acc, c)} for a, acc in found]
    return wrap(slot, value)


DELEGATE_OPTION = slice(72, 76)  # COption<Pubkey> tag of an SPL token account's delegate
DELEGATE = slice(76, 108)


def get_token_accounts_by_delegate(cluster: Cluster, params: Any) -> Any:
    """Token accounts (SPL Token and Token-2022) whose delegate is the given key."""
    key, flt, cfg = p.positional(params, 2, 3)
    delegate = p.pubkey(key)
    if not isinstance(flt, dict) or len(flt) != 1 or not ({"mint", "programId"} & set(flt)):
        raise invalid_params('expected a filter object {"mint": ...} or {"programId": ...}')
    c = p.config(cfg)
    slot = context_slot(cluster, c)
    mint = None
    if "mint" in flt:
        mint = p.pubkey(flt["mint"])
        mint_account = cluster.get_account(mint)
        if mint_account is None or mint_account.owner not in TOKEN_PROGRAMS:
            raise invalid_param("could not find mint")
        programs = (mint_account.owner,)
    else:
        program = p.pubkey(flt["programId"])
        if program not in TOKEN_PROGRAMS:
            raise invalid_param("unrecognized Token program id")
        programs = (program,)
    value = []
    for program in programs:
        for address, account in cluster.program_accounts(program):
            data = bytes(account.data)
            if token_account_kind(program, data) != "account":
                continue
            if data[DELEGATE_OPTION] != b"\x01\x00\x00\x00" or data[DELEGATE] != bytes(delegate):
                continue
            if mint is not None and data[0:32] != bytes(mint):
                continue
            value.append({"pubkey": str(address), "account": render(cluster, account, c)})
    return wrap(slot, value)


def _token_account(cluster: Cluster, key: Any) -> bytes:
    account = cluster.get_account(p.pubkey(key))
    if account is None or token_account_kind(account.owner, bytes(account.data)) != "account":
        raise invalid_param("not a Token account")
    return bytes(account.data)


def get_token_account_balance(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    data = _token_account(cluster, key)
    slot = context_slot(cluster, p.config(cfg))
    mint, _owner, amount, _state = token_account_fields(data)
    return wrap(slot, ui_token_amount(amount, cluster.decimals_of(mint) or 0))


def get_token_supply(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    account = cluster.get_account(p.pubkey(key))
    if account is None or token_account_kind(account.owner, bytes(account.data)) != "mint":
        raise invalid_param("not a Token mint")
    slot = context_slot(cluster, p.config(cfg))
    supply, decimals = mint_fields(bytes(account.data))
    return wrap(slot, ui_token_amount(supply, decimals))


def get_token_largest_accounts(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    mint = p.pubkey(key)
    decimals = cluster.decimals_of(mint)
    if decimals is None:
        raise invalid_param("not a Token mint")
    slot = context_slot(cluster, p.config(cfg))
    holdings = [
        (token_account_fields(bytes(acc.data))[2], str(address))
        for address, acc in cluster.token_accounts_by_mint(mint)
    ]
    holdings.sort(key=lambda h: (-h[0], h[1]))
    value = [
        {"address": address, **ui_token_amount(amount, decimals)}
        for amount, address in holdings[:LARGEST_ACCOUNTS]
    ]
    return wrap(slot, value)


HANDLERS: dict[str, Handler] = {
    "getHealth": get_health,
    "getSlot": get_slot,
    "getBlockHeight": get_block_height,
    "getLatestBlockhash": get_latest_blockhash,
    "isBlockhashValid": is_blockhash_valid,
    "getBalance": get_balance,
    "getAccountInfo": get_account_info,
    "getMultipleAccounts": get_multiple_accounts,
    "getProgramAccounts": get_program_accounts,
    "getMinimumBalanceForRentExemption": get_minimum_balance_for_rent_exemption,
    "getVersion": get_version,
    "getGenesisHash": get_genesis_hash,
    "getEpochInfo": get_epoch_info,
    "getTokenAccountsByOwner": get_token_accounts_by_owner,
    "getTokenAccountsByDelegate": get_token_accounts_by_delegate,
    "getTokenAccountBalance": get_token_account_balance,
    "getTokenSupply": get_token_supply,
    "getTokenLargestAccounts": get_token_largest_accounts,
}
