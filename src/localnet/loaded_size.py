"""The loaded accounts data size of a transaction, as SIMD-0186 defines it (agave counts it
before execution and refuses a transaction over its limit).

The size is the sum, over the union of the transaction's account keys (static keys and
lookup-table addresses) and the programdata accounts of the LoaderV3 programs among them, of each
existing account's data length plus 64 bytes, plus a flat 8,248 bytes per address lookup table
used. The limit is `SetLoadedAccountsDataSizeLimit` (compute budget instruction 4) or 64 MiB; over
it the transaction fails with `MaxLoadedAccountsDataSizeExceeded` (fee-only, SIMD-0082) and its
reported size is the limit itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from solders.account import Account
from solders.message import MessageV0
from solders.pubkey import Pubkey

__all__ = [
    "ACCOUNT_BASE_SIZE",
    "DEFAULT_LOADED_ACCOUNTS_DATA_SIZE_LIMIT",
    "LOOKUP_TABLE_COST",
    "loaded_accounts_data_size",
    "loaded_accounts_data_size_limit",
]

ACCOUNT_BASE_SIZE = 64  # metadata counted for every loaded account
LOOKUP_TABLE_COST = 8_248  # 8,192 bytes of addresses at most plus 56 of metadata, per table used
DEFAULT_LOADED_ACCOUNTS_DATA_SIZE_LIMIT = 64 * 1024 * 1024
COMPUTE_BUDGET_PROGRAM = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
LOADER_V3 = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SET_LOADED_ACCOUNTS_DATA_SIZE_LIMIT = 4
PROGRAM_STATE = struct.pack("<I", 2)  # UpgradeableLoaderState::Program { programdata_address }


def _exists(account: Account | None) -> bool:
    return account is not None and (account.lamports > 0 or len(account.data) > 0)


def loaded_accounts_data_size(
    message: Any, keys: Sequence[Pubkey], get_account: Callable[[Pubkey], Account | None]
) -> int:
    """SIMD-0186's size for `message`, whose loaded keys (static, then lookup-table addresses)
    are `keys`, against the bank `get_account` reads."""
    counted: dict[Pubkey, Account | None] = {}
    for key in keys:
        if key not in counted:
            counted[key] = get_account(key)
    for account in list(counted.values()):
        if not _exists(account) or account is None or account.owner != LOADER_V3:
            continue
        data = bytes(account.data)
        if len(data) >= 36 and data[:4] == PROGRAM_STATE:
            programdata = Pubkey.from_bytes(data[4:36])
            if programdata not in counted:
                counted[programdata] = get_account(programdata)
    total = sum(
        len(account.data) + ACCOUNT_BASE_SIZE
        for account in counted.values()
        if account is not None and _exists(account)
    )
    if isinstance(message, MessageV0):
        total += LOOKUP_TABLE_COST * len(message.address_table_lookups)
    return total


def loaded_accounts_data_size_limit(message: Any) -> int:
    """The limit the message asks for (`SetLoadedAccountsDataSizeLimit`), else 64 MiB; a larger
    request is capped at 64 MiB, as agave caps it."""
    keys = message.account_keys
    for ix in message.instructions:
        if keys[ix.program_id_index] != COMPUTE_BUDGET_PROGRAM:
            continue
        data = bytes(ix.data)
        if len(data) == 5 and data[0] == SET_LOADED_ACCOUNTS_DATA_SIZE_LIMIT:
            requested = int.from_bytes(data[1:5], "little")
            return min(requested, DEFAULT_LOADED_ACCOUNTS_DATA_SIZE_LIMIT)
    return DEFAULT_LOADED_ACCOUNTS_DATA_SIZE_LIMIT
