"""`encoding: "jsonParsed"` of transactions, as agave's `solana-transaction-status` renders them:
account keys as objects (`pubkey`, `signer`, `writable`, `source`) and instructions of the
programs agave parses (System, SPL Token, Token-2022, Associated Token Account, Memo) as
`{"parsed": {"info", "type"}, "program", "programId", "stackHeight"}`; any other instruction (or
one that does not decode) stays partially decoded: `{"accounts", "data", "programId",
"stackHeight"}`."""

from __future__ import annotations

import struct
from typing import Any

from solders.hash import Hash
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.cluster import MEMO_PROGRAM, writable_flags
from localnet.encoding import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    JsonDict,
    b58,
    ui_token_amount,
)

SYSTEM_PROGRAM = Pubkey.from_string("11111111111111111111111111111111")
ASSOCIATED_TOKEN_PROGRAM = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
MEMO_V1 = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
NONCE_ACCOUNT_LEN = 80

Parsed = tuple[str, JsonDict]  # (type, info)


class _Undecodable(Exception):
    pass


def _need(accounts: list[str], n: int) -> None:
    if len(accounts) < n:
        raise _Undecodable


def _u64(data: bytes, offset: int) -> int:
    if len(data) < offset + 8:
        raise _Undecodable
    return int(struct.unpack_from("<Q", data, offset)[0])


def _key(data: bytes, offset: int) -> str:
    if len(data) < offset + 32:
        raise _Undecodable
    return str(Pubkey.from_bytes(data[offset : offset + 32]))


def parse_system(data: bytes, accounts: list[str]) -> Parsed:
    if len(data) < 4:
        raise _Undecodable
    tag = int.from_bytes(data[:4], "little")
    if tag == 0:  # CreateAccount {lamports, space, owner}
        _need(accounts, 2)
        return "createAccount", {
            "lamports": _u64(data, 4),
            "newAccount": accounts[1],
            "owner": _key(data, 20),
            "source": accounts[0],
            "space": _u64(data, 12),
        }
    if tag == 1:  # Assign {owner}
        _need(accounts, 1)
        return "assign", {"account": accounts[0], "owner": _key(data, 4)}
    if tag == 2:  # Transfer {lamports}
        _need(accounts, 2)
        return "transfer", {
            "destination": accounts[1],
            "lamports": _u64(data, 4),
            "source": accounts[0],
        }
    if tag == 8:  # Allocate {space}
        _need(accounts, 1)
        return "allocate", {"account": accounts[0], "space": _u64(data, 4)}
    if tag == 4:  # AdvanceNonceAccount
        _need(accounts, 3)
        return "advanceNonce", {
            "nonceAccount": accounts[0],
            "nonceAuthority": accounts[2],
            "recentBlockhashesSysvar": accounts[1],
        }
    if tag == 5:  # WithdrawNonceAccount(lamports)
        _need(accounts, 5)
        return "withdrawFromNonce", {
            "destination": accounts[1],
            "lamports": _u64(data, 4),
            "nonceAccount": accounts[0],
            "nonceAuthority": accounts[4],
            "recentBlockhashesSysvar": accounts[2],
            "rentSysvar": accounts[3],
        }
    if tag == 6:  # InitializeNonceAccount(authority)
        _need(accounts, 3)
        return "initializeNonce", {
            "nonceAccount": accounts[0],
            "nonceAuthority": _key(data, 4),
            "recentBlockhashesSysvar": accounts[1],
            "rentSysvar": accounts[2],
        }
    if tag == 7:  # AuthorizeNonceAccount(authority)
        _need(accounts, 2)
        return "authorizeNonce", {
            "newAuthorized": _key(data, 4),
            "nonceAccount": accounts[0],
            "nonceAuthority": accounts[1],
        }
    raise _Undecodable


def parse_nonce_account(data: bytes) -> JsonDict | None:
    """The `jsonParsed` data of a System-owned nonce account (agave's `parse_nonce`, 80 bytes:
    version u32, state u32, authority, durable nonce, lamports per signature u64), None when
    the data is no nonce state (the caller then falls back to base64, as agave does)."""
    if len(data) != NONCE_ACCOUNT_LEN:
        return None
    version, state = struct.unpack_from("<II", data, 0)
    if version > 1 or state > 1:
        return None
    parsed: JsonDict
    if state == 0:
        parsed = {"type": "uninitialized"}
    else:
        parsed = {
            "info": {
                "authority": _key(data, 8),
                "blockhash": str(Hash.from_bytes(data[40:72])),
                "feeCalculator": {"lamportsPerSignature": str(_u64(data, 72))},
            },
            "type": "initialized",
        }
    return {"parsed": parsed, "program": "nonce", "space": len(data)}


def _authority(info: JsonDict, name: str, accounts: list[str], index: int) -> JsonDict:
    """A single authority, or a multisig and its signers (the accounts after it)."""
    _need(accounts, index + 1)
    if len(accounts) > index + 1:
        info[f"multisig{name[0].upper()}{name[1:]}"] = accounts[index]
        info["signers"] = accounts[index + 1 :]
    else:
        info[name] = accounts[index]
    return info


def _coption_key(data: bytes, offset: int) -> str | None:
    if len(data) < offset + 1 or data[offset] == 0:
        return None
    return _key(data, offset + 1)


def parse_token(data: bytes, accounts: list[str]) -> Parsed:
    if not data:
        raise _Undecodable
    tag = data[0]
    if tag in (0, 20):  # InitializeMint / InitializeMint2 {decimals, mint authority, freeze}
        _need(accounts, 2 if tag == 0 else 1)
        if len(data) < 34:
            raise _Undecodable
        info: JsonDict = {"decimals": data[1], "mint": accounts[0], "mintAuthority": _key(data, 2)}
        freeze = _coption_key(data, 34)
        if freeze is not None:
            info["freezeAuthority"] = freeze
        if tag == 0:
            info["rentSysvar"] = accounts[1]
        return ("initializeMint" if tag == 0 else "initializeMint2"), info
    if tag == 1:
        _need(accounts, 4)
        return "initializeAccount", {
            "account": accounts[0],
            "mint": accounts[1],
            "owner": accounts[2],
            "rentSysvar": accounts[3],
        }
    if tag == 16:
        _need(accounts, 3)
        return "initializeAccount2", {
            "account": accounts[0],
            "mint": accounts[1],
            "owner": _key(data, 1),
            "rentSysvar": accounts[2],
        }
    if tag == 18:
        _need(accounts, 2)
        return "initializeAccount3", {
            "account": accounts[0],
            "mint": accounts[1],
            "owner": _key(data, 1),
        }
    if tag == 3:
        _need(accounts, 3)
        info = {"amount": str(_u64(data, 1)), "destination": accounts[1], "source": accounts[0]}
        return "transfer", _authority(info, "authority", accounts, 2)
    if tag == 4:
        _need(accounts, 3)
        info = {"amount": str(_u64(data, 1)), "delegate": accounts[1], "source": accounts[0]}
        return "approve", _authority(info, "owner", accounts, 2)
    if tag == 5:
        _need(accounts, 2)
        return "revoke", _authority({"source": accounts[0]}, "owner", accounts, 1)
    if tag == 7:
        _need(accounts, 3)
        info = {"account": accounts[1], "amount": str(_u64(data, 1)), "mint": accounts[0]}
        return "mintTo", _authority(info, "mintAuthority", accounts, 2)
    if tag == 8:
        _need(accounts, 3)
        info = {"account": accounts[0], "amount": str(_u64(data, 1)), "mint": accounts[1]}
        return "burn", _authority(info, "authority", accounts, 2)
    if tag == 9:
        _need(accounts, 3)
        info = {"account": accounts[0], "destination": accounts[1]}
        return "closeAccount", _authority(info, "owner", accounts, 2)
    if tag in (12, 14, 15):  # TransferChecked / MintToChecked / BurnChecked {amount, decimals}
        if len(data) < 10:
            raise _Undecodable
        amount = ui_token_amount(_u64(data, 1), data[9])
        if tag == 12:
            _need(accounts, 4)
            info = {
                "destination": accounts[2],
                "mint": accounts[1],
                "source": accounts[0],
                "tokenAmount": amount,
            }
            return "transferChecked", _authority(info, "authority", accounts, 3)
        _need(accounts, 3)
        if tag == 14:
            info = {"account": accounts[1], "mint": accounts[0], "tokenAmount": amount}
            return "mintToChecked", _authority(info, "mintAuthority", accounts, 2)
        info = {"account": accounts[0], "mint": accounts[1], "tokenAmount": amount}
        return "burnChecked", _authority(info, "authority", accounts, 2)
    if tag == 17:
        _need(accounts, 1)
        return "syncNative", {"account": accounts[0]}
    if tag == 21:  # GetAccountDataSize {extension_types: [u16]} (what the ATA program CPIs)
        _need(accounts, 1)
        info = {"mint": accounts[0]}
        extensions = data[1:]
        if len(extensions) % 2:
            raise _Undecodable
        names = []
        for i in range(0, len(extensions), 2):
            code = int.from_bytes(extensions[i : i + 2], "little")
            if code >= len(EXTENSION_TYPES):
                raise _Undecodable
            names.append(EXTENSION_TYPES[code])
        if names:
            info["extensionTypes"] = names
        return "getAccountDataSize", info
    if tag == 22:
        _need(accounts, 1)
        return "initializeImmutableOwner", {"account": accounts[0]}
    raise _Undecodable


# Token-2022 `ExtensionType` in declaration order, as agave's `UiExtensionType` names them
EXTENSION_TYPES = (
    "uninitialized", "transferFeeConfig", "transferFeeAmount", "mintCloseAuthority",
    "confidentialTransferMint", "confidentialTransferAccount", "defaultAccountState",
    "immutableOwner", "memoTransfer", "nonTransferable", "interestBearingConfig", "cpiGuard",
    "permanentDelegate", "nonTransferableAccount", "transferHook", "transferHookAccount",
    "confidentialTransferFeeConfig", "confidentialTransferFeeAmount", "metadataPointer",
    "tokenMetadata", "groupPointer", "tokenGroup", "groupMemberPointer", "tokenGroupMember",
    "confidentialMintBurn", "scaledUiAmountConfig", "pausableConfig", "pausableAccount",
)  # fmt: skip


def parse_associated_token(data: bytes, accounts: list[str]) -> Parsed:
    kind = {b"": "create", b"\x00": "create", b"\x01": "createIdempotent"}.get(data)
    if kind is None:
        raise _Undecodable
    _need(accounts, 6)
    return kind, {
        "account": accounts[1],
        "mint": accounts[3],
        "source": accounts[0],
        "systemProgram": accounts[4],
        "tokenProgram": accounts[5],
        "wallet": accounts[2],
    }


def parse_instruction(program: Pubkey, accounts: list[Pubkey], data: bytes) -> JsonDict:
    keys = [str(k) for k in accounts]
    name: str | None = None
    parsed: Any = None
    try:
        if program == SYSTEM_PROGRAM:
            name, (kind, info) = "system", parse_system(data, keys)
            parsed = {"info": info, "type": kind}
        elif program in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            name = "spl-token" if program == TOKEN_PROGRAM_ID else "spl-token-2022"
            kind, info = parse_token(data, keys)
            parsed = {"info": info, "type": kind}
        elif program == ASSOCIATED_TOKEN_PROGRAM:
            name, (kind, info) = "spl-associated-token-account", parse_associated_token(data, keys)
            parsed = {"info": info, "type": kind}
        elif program in (MEMO_PROGRAM, MEMO_V1):
            name, parsed = "spl-memo", data.decode("utf-8")
    except (_Undecodable, UnicodeDecodeError, ValueError):
        name = None
    if name is None:
        return {"accounts": keys, "data": b58(data), "programId": str(program), "stackHeight": None}
    return {"parsed": parsed, "program": name, "programId": str(program), "stackHeight": None}


def parsed_transaction(tx: VersionedTransaction) -> JsonDict:
    """The `transaction` member of a `jsonParsed` getTransaction / getBlock entry."""
    msg = tx.message
    keys = list(msg.account_keys)
    writable = writable_flags(msg)
    signed = msg.header.num_required_signatures
    message: JsonDict = {
        "accountKeys": [
            {
                "pubkey": str(k),
                "signer": i < signed,
                "source": "transaction",
                "writable": writable[i],
            }
            for i, k in enumerate(keys)
        ],
        "recentBlockhash": str(msg.recent_blockhash),
        "instructions": [
            parse_instruction(
                keys[ix.program_id_index],
                [keys[a] for a in bytes(ix.accounts)],
                bytes(ix.data),
            )
            for ix in msg.instructions
        ],
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
