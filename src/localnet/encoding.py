"""Wire encodings shared by localnet's RPC/PubSub servers and market: mainnet's JSON shapes.

- `transaction_error_to_json(err)`: a solders `TransactionError` in agave's serde form
  (`"BlockhashNotFound"`, `{"InstructionError":[1,{"Custom":6001}]}`), NOT solders'
  own `to_json()` form.
- `account_to_rpc(...)`: a `UiAccount` (`getAccountInfo.value`) in base58/base64/jsonParsed.
- `ui_token_amount(amount, decimals)`: the `UiTokenAmount` object (`amount`, `decimals`, `uiAmount`,
  `uiAmountString`), and token account/mint parsers for `jsonParsed` (SPL Token and
  Token-2022 with its TLV extensions).
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from typing import Any

import base58
from solders.account import Account
from solders.pubkey import Pubkey
from solders.rpc.responses import RpcSimulateTransactionResult
from solders.transaction_status import TransactionErrorType

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)
MINT_LEN = 82
TOKEN_ACCOUNT_LEN = 165
MULTISIG_LEN = 355
U64_MAX = 2**64 - 1
BASE58_DATA_LIMIT = 128

JsonDict = dict[str, Any]
DecimalsLookup = Callable[[Pubkey], int | None]


class EncodingError(ValueError):
    """An encoding this account cannot be given in (e.g. base58 of > 128 bytes)."""


def transaction_error_to_json(err: TransactionErrorType | None) -> Any:
    """Agave's serde JSON form of a `TransactionError` (None stays None)."""
    if err is None:
        return None
    carrier = RpcSimulateTransactionResult(
        err=err, logs=None, accounts=None, units_consumed=None, return_data=None
    )
    return json.loads(carrier.to_json())["err"]


def instruction_error_json(index: int, custom_code: int) -> JsonDict:
    """`{"InstructionError":[index,{"Custom":code}]}`."""
    return {"InstructionError": [index, {"Custom": custom_code}]}


def transaction_error_display(err: Any) -> str:
    """Agave's Display string of a serde-form error (`Transaction simulation failed: {err}`)."""
    if isinstance(err, str):
        return _FIELDLESS_DISPLAY.get(err, err)
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        if isinstance(inner, dict) and "Custom" in inner:
            detail = f"custom program error: {inner['Custom']:#x}"
        else:
            detail = str(inner)
        return f"Error processing Instruction {index}: {detail}"
    if isinstance(err, dict) and "InsufficientFundsForRent" in err:
        index = err["InsufficientFundsForRent"]["account_index"]
        return f"Transaction results in an account ({index}) with insufficient funds for rent"
    return json.dumps(err, separators=(",", ":"))


_FIELDLESS_DISPLAY = {
    "BlockhashNotFound": "Blockhash not found",
    "AlreadyProcessed": "This transaction has already been processed",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "SignatureFailure": "Transaction did not pass signature verification",
    "AccountInUse": "Account in use",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
}


def ui_amount_string(amount: int, decimals: int) -> str:
    """`uiAmountString`: the exact decimal, trailing zeros trimmed (`"98.64"`, `"1000"`, `"0"`)."""
    if decimals == 0:
        return str(amount)
    whole, frac = divmod(amount, 10**decimals)
    frac_text = str(frac).rjust(decimals, "0").rstrip("0")
    return f"{whole}.{frac_text}" if frac_text else str(whole)


def ui_token_amount(amount: int, decimals: int) -> JsonDict:
    """The `UiTokenAmount` object of token balance responses."""
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": amount / 10**decimals,
        "uiAmountString": ui_amount_string(amount, decimals),
    }


def b58(raw: bytes) -> str:
    return str(base58.b58encode(raw).decode("ascii"))


def encode_data(data: bytes, encoding: str) -> list[str]:
    """`["<data>", "<encoding>"]` for binary encodings; raises `EncodingError` when not possible."""
    if encoding == "base64":
        return [base64.b64encode(data).decode("ascii"), "base64"]
    if encoding == "base58":
        if len(data) > BASE58_DATA_LIMIT:
            raise EncodingError("Encoded binary (base 58) data should be less than 128 bytes")
        return [b58(data), "base58"]
    if encoding == "base64+zstd":
        raise EncodingError("base64+zstd is not supported by localnet; use base64")
    raise EncodingError(f"unknown encoding {encoding!r}")


def account_to_rpc(
    account: Account,
    *,
    encoding: str = "base64",
    data_slice: tuple[int, int] | None = None,
    decimals_of: DecimalsLookup | None = None,
) -> JsonDict:
    """A `UiAccount`: `{"data", "executable", "lamports", "owner", "rentEpoch", "space"}`."""
    data = bytes(account.data)
    rendered: Any = None
    if encoding == "jsonParsed":
        rendered = parse_token_data(account.owner, data, decimals_of)
        if rendered is None:
            rendered = encode_data(data, "base64")
    else:
        if data_slice is not None:
            offset, length = data_slice
            data = data[offset : offset + length]
        rendered = encode_data(data, encoding)
    return {
        "data": rendered,
        "executable": account.executable,
        "lamports": account.lamports,
        "owner": str(account.owner),
        "rentEpoch": U64_MAX,
        "space": len(account.data),
    }


def token_account_kind(owner: Pubkey, data: bytes) -> str | None:
    """ "mint", "account" or None (not a token account, multisig, or unparseable)."""
    if owner not in TOKEN_PROGRAMS:
        return None
    size = len(data)
    if size == MINT_LEN:
        return "mint"
    if size == TOKEN_ACCOUNT_LEN:
        return "account"
    if owner == TOKEN_2022_PROGRAM_ID and size > TOKEN_ACCOUNT_LEN and size != MULTISIG_LEN:
        return {1: "mint", 2: "account"}.get(data[TOKEN_ACCOUNT_LEN])
    return None


def _option_pubkey(data: bytes, offset: int) -> str | None:
    if data[offset : offset + 4] == b"\x01\x00\x00\x00":
        return str(Pubkey.from_bytes(data[offset + 4 : offset + 36]))
    return None


def token_account_fields(data: bytes) -> tuple[Pubkey, Pubkey, int, int]:
    """(mint, owner, amount, state) of a packed token account (state: 1 initialized, 2 frozen)."""
    mint = Pubkey.from_bytes(data[0:32])
    owner = Pubkey.from_bytes(data[32:64])
    (amount,) = struct.unpack_from("<Q", data, 64)
    return mint, owner, amount, data[108]


def mint_fields(data: bytes) -> tuple[int, int]:
    """(supply, decimals) of a packed mint."""
    (supply,) = struct.unpack_from("<Q", data, 36)
    return supply, data[44]


def parse_token_data(
    owner: Pubkey, data: bytes, decimals_of: DecimalsLookup | None
) -> JsonDict | None:
    """The `jsonParsed` data object of a token account or mint; None when there is no parser."""
    kind = token_account_kind(owner, data)
    if kind is None:
        return None
    program = "spl-token" if owner == TOKEN_PROGRAM_ID else "spl-token-2022"
    info: JsonDict
    if kind == "mint":
        supply, decimals = mint_fields(data)
        info = {
            "decimals": decimals,
            "freezeAuthority": _option_pubkey(data, 46),
            "isInitialized": bool(data[45]),
            "mintAuthority": _option_pubkey(data, 0),
            "supply": str(supply),
        }
    else:
        mint, holder, amount, state = token_account_fields(data)
        decimals = (decimals_of(mint) if decimals_of else None) or 0
        info = {
            "isNative": data[109:113] == b"\x01\x00\x00\x00",
            "mint": str(mint),
            "owner": str(holder),
            "state": {0: "uninitialized", 1: "initialized", 2: "frozen"}.get(
                state, "uninitialized"
            ),
            "tokenAmount": ui_token_amount(amount, decimals),
        }
        delegate = _option_pubkey(data, 72)
        if delegate is not None:
            (delegated,) = struct.unpack_from("<Q", data, 121)
            info["delegate"] = delegate
            info["delegatedAmount"] = ui_token_amount(delegated, decimals)
        close_authority = _option_pubkey(data, 129)
        if close_authority is not None:
            info["closeAuthority"] = close_authority
        if info["isNative"]:
            (reserve,) = struct.unpack_from("<Q", data, 113)
            info["rentExemptReserve"] = ui_token_amount(reserve, 9)
    if owner == TOKEN_2022_PROGRAM_ID and len(data) > TOKEN_ACCOUNT_LEN:
        info["extensions"] = parse_extensions(data)
    return {"program": program, "parsed": {"info": info, "type": kind}, "space": len(data)}


def _maybe_pubkey(raw: bytes) -> str | None:
    return None if raw == bytes(32) else str(Pubkey.from_bytes(raw))


def _transfer_fee(raw: bytes) -> JsonDict:
    epoch, maximum_fee, bps = struct.unpack("<QQH", raw)
    return {"epoch": epoch, "maximumFee": maximum_fee, "transferFeeBasisPoints": bps}


def _parse_extension(kind: int, value: bytes) -> JsonDict:
    if kind == 1 and len(value) == 108:
        return {
            "extension": "transferFeeConfig",
            "state": {
                "transferFeeConfigAuthority": _maybe_pubkey(value[0:32]),
                "withdrawWithheldAuthority": _maybe_pubkey(value[32:64]),
                "withheldAmount": struct.unpack_from("<Q", value, 64)[0],
                "olderTransferFee": _transfer_fee(value[72:90]),
                "newerTransferFee": _transfer_fee(value[90:108]),
            },
        }
    if kind == 2 and len(value) == 8:
        withheld = struct.unpack("<Q", value)[0]
        return {"extension": "transferFeeAmount", "state": {"withheldAmount": withheld}}
    if kind == 3 and len(value) == 32:
        authority = _maybe_pubkey(value)
        return {"extension": "mintCloseAuthority", "state": {"closeAuthority": authority}}
    if kind == 6 and len(value) == 1:
        state = {0: "uninitialized", 1: "initialized", 2: "frozen"}.get(value[0], "uninitialized")
        return {"extension": "defaultAccountState", "state": {"accountState": state}}
    if kind == 12 and len(value) == 32:
        return {"extension": "permanentDelegate", "state": {"delegate": _maybe_pubkey(value)}}
    if kind == 14 and len(value) == 64:
        return {
            "extension": "transferHook",
            "state": {
                "authority": _maybe_pubkey(value[:32]),
                "programId": _maybe_pubkey(value[32:]),
            },
        }
    if kind == 15 and len(value) == 1:
        return {"extension": "transferHookAccount", "state": {"transferring": bool(value[0])}}
    if kind == 26 and len(value) == 33:
        return {
            "extension": "pausableConfig",
            "state": {"authority": _maybe_pubkey(value[:32]), "paused": bool(value[32])},
        }
    if kind in _UNIT_EXTENSIONS:
        return {"extension": _UNIT_EXTENSIONS[kind]}
    return {"extension": "unparseableExtension"}


_UNIT_EXTENSIONS = {
    7: "immutableOwner",
    9: "nonTransferable",
    13: "nonTransferableAccount",
    27: "pausableAccount",
}


def parse_extensions(data: bytes) -> list[JsonDict]:
    """Token-2022 TLV entries after the account-type byte (offset 166)."""
    out: list[JsonDict] = []
    offset = TOKEN_ACCOUNT_LEN + 1
    while offset + 4 <= len(data):
        kind, length = struct.unpack_from("<HH", data, offset)
        if kind == 0:
            break
        value = data[offset + 4 : offset + 4 + length]
        out.append(_parse_extension(kind, value))
        offset += 4 + length
    return out
