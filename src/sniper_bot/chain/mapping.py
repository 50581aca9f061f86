"""Wire JSON -> typed values. The only module that knows Solana RPC result keys.

Every function takes the decoded ``result`` of one method and returns typed values; the pool runs
them inside ``wire.guarded``, so any shape surprise (missing key, wrong type, bad base58, a solders
panic) becomes ``RpcMalformedResponse`` and the call fails over to another endpoint.
"""

from __future__ import annotations

import base64
from typing import Any

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature

from sniper_bot.chain.types import (
    LandedTransaction,
    SignatureStatus,
    SimulationResult,
    TokenAccountInfo,
    TokenBalance,
    TxError,
)

__all__ = [
    "account",
    "account_info",
    "accounts",
    "balance",
    "blockhash",
    "largest_accounts",
    "prioritization_fees",
    "signature",
    "signature_statuses",
    "simulation",
    "slot",
    "token_accounts",
    "token_supply",
    "transaction",
]


class ShapeError(ValueError):
    """The result does not have the documented shape."""


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ShapeError(f"{what} is {type(value).__name__}, expected an integer")
    return value


def _value(result: Any) -> Any:
    if not isinstance(result, dict) or "value" not in result:
        raise ShapeError("expected the {context, value} wrapper")
    return result["value"]


def _err(value: Any) -> TxError:
    if value is None or isinstance(value, dict | str):
        return value
    raise ShapeError(f"err is {type(value).__name__}")


def slot(result: Any) -> int:
    return _int(result, "slot")


def balance(result: Any) -> int:
    return _int(_value(result), "balance")


def blockhash(result: Any) -> tuple[Hash, int]:
    value = _value(result)
    return Hash.from_string(value["blockhash"]), _int(
        value["lastValidBlockHeight"], "lastValidBlockHeight"
    )


def account(value: Any) -> Account | None:
    """A ``UiAccount`` in base64 encoding (or null) -> ``solders.account.Account``."""
    if value is None:
        return None
    data = value["data"]
    if not (isinstance(data, list) and len(data) == 2 and data[1] == "base64"):
        raise ShapeError("account data must be [<base64>, 'base64']")
    return Account(
        lamports=_int(value["lamports"], "lamports"),
        data=base64.b64decode(data[0], validate=True),
        owner=Pubkey.from_string(value["owner"]),
        executable=bool(value["executable"]),
        rent_epoch=_int(value.get("rentEpoch", 0), "rentEpoch"),
    )


def account_info(result: Any) -> Account | None:
    return account(_value(result))


def accounts(result: Any) -> list[Account | None]:
    value = _value(result)
    if not isinstance(value, list):
        raise ShapeError("getMultipleAccounts value must be an array")
    return [account(v) for v in value]


def token_accounts(result: Any, program_id: Pubkey) -> list[TokenAccountInfo]:
    """``getTokenAccountsByOwner`` with ``jsonParsed`` encoding."""
    out: list[TokenAccountInfo] = []
    for item in _value(result):
        info = item["account"]["data"]["parsed"]["info"]
        amount = info["tokenAmount"]
        out.append(
            TokenAccountInfo(
                address=Pubkey.from_string(item["pubkey"]),
                mint=Pubkey.from_string(info["mint"]),
                owner=Pubkey.from_string(info["owner"]),
                amount=int(amount["amount"]),
                decimals=amount.get("decimals"),
                program_id=program_id,
                state=str(info.get("state", "initialized")),
            )
        )
    return out


def largest_accounts(result: Any) -> list[tuple[Pubkey, int]]:
    return [(Pubkey.from_string(v["address"]), int(v["amount"])) for v in _value(result)]


def token_supply(result: Any) -> tuple[int, int]:
    value = _value(result)
    return int(value["amount"]), _int(value["decimals"], "decimals")


def signature_statuses(result: Any) -> list[SignatureStatus | None]:
    out: list[SignatureStatus | None] = []
    for v in _value(result):
        if v is None:
            out.append(None)
            continue
        confirmations = v.get("confirmations")
        out.append(
            SignatureStatus(
                slot=_int(v["slot"], "slot"),
                confirmations=None if confirmations is None else _int(confirmations, "conf"),
                err=_err(v.get("err")),
                confirmation_status=v.get("confirmationStatus"),
            )
        )
    return out


def signature(result: Any) -> Signature:
    if not isinstance(result, str):
        raise ShapeError("expected a base58 signature string")
    return Signature.from_string(result)


def simulation(result: Any) -> SimulationResult:
    value = _value(result)
    units = value.get("unitsConsumed")
    raw_accounts = value.get("accounts") or []
    return SimulationResult(
        err=_err(value.get("err")),
        logs=[str(line) for line in value.get("logs") or []],
        units_consumed=None if units is None else _int(units, "unitsConsumed"),
        accounts=[account(a) for a in raw_accounts],
    )


def _token_balances(items: Any) -> list[TokenBalance]:
    return [
        TokenBalance(
            account_index=_int(b["accountIndex"], "accountIndex"),
            mint=str(b["mint"]),
            owner=b.get("owner"),
            amount=int(b["uiTokenAmount"]["amount"]),
            decimals=_int(b["uiTokenAmount"]["decimals"], "decimals"),
            program_id=b.get("programId"),
        )
        for b in items or []
    ]


def transaction(result: Any, sig: Signature) -> LandedTransaction | None:
    """``getTransaction`` with ``json`` encoding; keys include v0 loaded addresses (w, then r)."""
    if result is None:
        return None
    meta = result["meta"] or {}
    message = result["transaction"]["message"]
    keys = [Pubkey.from_string(k) for k in message["accountKeys"]]
    loaded = meta.get("loadedAddresses") or {}
    keys += [Pubkey.from_string(k) for k in loaded.get("writable", [])]
    keys += [Pubkey.from_string(k) for k in loaded.get("readonly", [])]
    return LandedTransaction(
        signature=sig,
        slot=_int(result["slot"], "slot"),
        err=_err(meta.get("err")),
        fee=_int(meta.get("fee", 0), "fee"),
        account_keys=keys,
        pre_balances=[_int(b, "preBalance") for b in meta.get("preBalances", [])],
        post_balances=[_int(b, "postBalance") for b in meta.get("postBalances", [])],
        pre_token_balances=_token_balances(meta.get("preTokenBalances")),
        post_token_balances=_token_balances(meta.get("postTokenBalances")),
        logs=[str(line) for line in meta.get("logMessages") or []],
    )


def prioritization_fees(result: Any) -> list[tuple[int, int]]:
    if not isinstance(result, list):
        raise ShapeError("getRecentPrioritizationFees result must be an array")
    return [(_int(v["slot"], "slot"), _int(v["prioritizationFee"], "fee")) for v in result]
