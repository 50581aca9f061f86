"""Read methods: slots, blockhash, balances, accounts, program accounts, token queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey

from localnet.cluster import BLOCKHASH_WINDOW, Cluster
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


class BankView:
    """The bank as a commitment sees it: the newest state at `processed`, the state at the end
    of the commitment's slot (one behind at `confirmed`, 32 at `finalized`) otherwise, from the
    cluster's journal of what changed since."""

    def __init__(self, cluster: Cluster, slot: int) -> None:
        self.cluster = cluster
        self.slot = slot
        self.changed = cluster.journal.changed_after(slot) if slot < cluster.slot else {}

    def get(self, pubkey: Pubkey) -> Account | None:
        account = (
            self.changed[pubkey] if pubkey in self.changed else self.cluster.get_account(pubkey)
        )
        if account is None or (account.lamports == 0 and not account.data):
            return None  # closed (or not created yet at this commitment)
        return account

    def balance(self, pubkey: Pubkey) -> int:
        account = self.get(pubkey)
        return 0 if account is None else account.lamports

    def program_accounts(self, program: Pubkey) -> list[tuple[Pubkey, Account]]:
        found = dict(self.cluster.program_accounts(program))
        for key, before in self.changed.items():
            if before is None or before.owner != program or before.lamports == 0:
                found.pop(key, None)
            else:
                found[key] = before
        return list(found.items())


def view(cluster: Cluster, cfg: dict[str, Any]) -> BankView:
    """The bank at the config's commitment (enforces `minContextSlot` too)."""
    return BankView(cluster, context_slot(cluster, cfg))


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
    c = p.config(cfg)
    slot = context_slot(cluster, c)
    # the blockhash the commitment's bank issued, valid 150 blocks past that bank's height
    hashes = cluster.block_hashes(slot) if slot < cluster.slot else None
    blockhash = hashes[0] if hashes is not None else cluster.latest_blockhash()
    value = {
        "blockhash": str(blockhash),
        "lastValidBlockHeight": cluster.block_height_at(p.depth(c)) + BLOCKHASH_WINDOW,
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
    bank = view(cluster, p.config(cfg))
    return wrap(bank.slot, bank.balance(pubkey))


def get_account_info(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    pubkey = p.pubkey(key)
    c = p.config(cfg)
    bank = view(cluster, c)
    account = bank.get(pubkey)
    return wrap(bank.slot, None if account is None else render(cluster, account, c))


def get_multiple_accounts(cluster: Cluster, params: Any) -> Any:
    keys, cfg = p.positional(params, 1, 2)
    if not isinstance(keys, list):
        raise invalid_params("invalid type: expected an array of pubkeys")
    if len(keys) > MAX_MULTIPLE_ACCOUNTS:
        raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
    pubkeys = [p.pubkey(k) for k in keys]
    c = p.config(cfg)
    bank = view(cluster, c)
    out = []
    for pubkey in pubkeys:
        account = bank.get(pubkey)
        out.append(None if account is None else render(cluster, account, c))
    return wrap(bank.slot, out)


def get_program_accounts(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    program = p.pubkey(key)
    c = p.config(cfg)
    bank = view(cluster, c)
    try:
        filters = parse_filters(c.get("filters"))
    except ValueError as exc:
        raise invalid_params(str(exc)) from exc
    out = [
        {"pubkey": str(address), "account": render(cluster, account, c)}
        for address, account in bank.program_accounts(program)
        if filters.matches(bytes(account.data))
    ]
    return wrap(bank.slot, out) if c.get("withContext") else out


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
    bank = view(cluster, c)
    mint: Pubkey | None = None
    if "mint" in flt:
        mint = p.pubkey(flt["mint"])
        mint_account = bank.get(mint)
        if mint_account is None or mint_account.owner not in TOKEN_PROGRAMS:
            raise invalid_param("could not find mint")
        program = mint_account.owner
    else:
        program = p.pubkey(flt["programId"])
        if program not in TOKEN_PROGRAMS:
            raise invalid_param("unrecognized Token program id")
    found = [
        (address, account)
        for address, account in bank.program_accounts(program)
        if token_account_kind(program, bytes(account.data)) == "account"
        and bytes(account.data)[32:64] == bytes(owner)
        and (mint is None or bytes(account.data)[0:32] == bytes(mint))
    ]
    value = [{"pubkey": str(a), "account": render(cluster, acc, c)} for a, acc in found]
    return wrap(bank.slot, value)


DELEGATE_OPTION = slice(72, 76)  # COption<Pubkey> tag of an SPL token account's delegate
DELEGATE = slice(76, 108)


def get_token_accounts_by_delegate(cluster: Cluster, params: Any) -> Any:
    """Token accounts (SPL Token and Token-2022) whose delegate is the given key."""
    key, flt, cfg = p.positional(params, 2, 3)
    delegate = p.pubkey(key)
    if not isinstance(flt, dict) or len(flt) != 1 or not ({"mint", "programId"} & set(flt)):
        raise invalid_params('expected a filter object {"mint": ...} or {"programId": ...}')
    c = p.config(cfg)
    bank = view(cluster, c)
    mint = None
    if "mint" in flt:
        mint = p.pubkey(flt["mint"])
        mint_account = bank.get(mint)
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
        for address, account in bank.program_accounts(program):
            data = bytes(account.data)
            if token_account_kind(program, data) != "account":
                continue
            if data[DELEGATE_OPTION] != b"\x01\x00\x00\x00" or data[DELEGATE] != bytes(delegate):
                continue
            if mint is not None and data[0:32] != bytes(mint):
                continue
            value.append({"pubkey": str(address), "account": render(cluster, account, c)})
    return wrap(bank.slot, value)


def _token_account(bank: BankView, key: Any) -> bytes:
    account = bank.get(p.pubkey(key))
    if account is None or token_account_kind(account.owner, bytes(account.data)) != "account":
        raise invalid_param("not a Token account")
    return bytes(account.data)


def get_token_account_balance(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    bank = view(cluster, p.config(cfg))
    data = _token_account(bank, key)
    mint, _owner, amount, _state = token_account_fields(data)
    return wrap(bank.slot, ui_token_amount(amount, cluster.decimals_of(mint) or 0))


def get_token_supply(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    bank = view(cluster, p.config(cfg))
    account = bank.get(p.pubkey(key))
    if account is None or token_account_kind(account.owner, bytes(account.data)) != "mint":
        raise invalid_param("not a Token mint")
    supply, decimals = mint_fields(bytes(account.data))
    return wrap(bank.slot, ui_token_amount(supply, decimals))


def get_token_largest_accounts(cluster: Cluster, params: Any) -> Any:
    key, cfg = p.positional(params, 1, 2)
    mint = p.pubkey(key)
    bank = view(cluster, p.config(cfg))
    mint_account = bank.get(mint)
    if mint_account is None or mint_account.owner not in TOKEN_PROGRAMS:
        raise invalid_param("not a Token mint")
    decimals = cluster.decimals_of(mint)
    if decimals is None:
        raise invalid_param("not a Token mint")
    holdings = [
        (token_account_fields(bytes(acc.data))[2], str(address))
        for address, acc in bank.program_accounts(mint_account.owner)
        if token_account_kind(mint_account.owner, bytes(acc.data)) == "account"
        and bytes(acc.data)[0:32] == bytes(mint)
    ]
    holdings.sort(key=lambda h: (-h[0], h[1]))
    value = [
        {"address": address, **ui_token_amount(amount, decimals)}
        for amount, address in holdings[:LARGEST_ACCOUNTS]
    ]
    return wrap(bank.slot, value)


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
