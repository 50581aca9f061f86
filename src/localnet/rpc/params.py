"""Parameter parsing for RPC methods: positional params, config objects, keys, encodings."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import base58
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from localnet.history import commitment_depth
from localnet.rpc.errors import invalid_param, invalid_params

ACCOUNT_ENCODINGS = ("base58", "base64", "base64+zstd", "jsonParsed")
MAX_TX_BYTES = 1232


def positional(params: Any, required: int, maximum: int) -> list[Any]:
    """The params array padded with None up to `maximum`; wrong counts are -32602."""
    if params is None:
        params = []
    if not isinstance(params, list):
        raise invalid_params("invalid type: expected a sequence")
    if len(params) < required:
        raise invalid_params(f"invalid length {len(params)}, expected {required} or more")
    if len(params) > maximum:
        raise invalid_params(f"invalid length {len(params)}, expected at most {maximum}")
    return [*params, *([None] * (maximum - len(params)))]


def config(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_params("invalid type: expected a config object")
    return {k: v for k, v in value.items() if v is not None}  # null = field absent, as in serde


def pubkey(value: Any) -> Pubkey:
    if not isinstance(value, str):
        raise invalid_params("invalid type: expected a base-58 pubkey string")
    try:
        raw = base58.b58decode(value)
    except ValueError as exc:
        raise invalid_param("Invalid") from exc
    if len(raw) != 32:
        raise invalid_param("WrongSize")
    return Pubkey.from_bytes(raw)


def signature(value: Any) -> Signature:
    if not isinstance(value, str):
        raise invalid_params("invalid type: expected a base-58 signature string")
    try:
        raw = base58.b58decode(value)
    except ValueError as exc:
        raise invalid_param("Invalid") from exc
    if len(raw) != 64:
        raise invalid_param("WrongSize")
    return Signature.from_bytes(raw)


def depth(cfg: dict[str, Any]) -> int:
    try:
        return commitment_depth(cfg.get("commitment"))
    except ValueError as exc:
        raise invalid_params(f"unknown variant `{cfg.get('commitment')}`") from exc


def account_encoding(cfg: dict[str, Any], default: str = "base64") -> str:
    encoding = cfg.get("encoding") or default
    if encoding not in ACCOUNT_ENCODINGS:
        raise invalid_params(f"unknown variant `{encoding}`, expected one of {ACCOUNT_ENCODINGS}")
    return str(encoding)


def data_slice(cfg: dict[str, Any]) -> tuple[int, int] | None:
    spec = cfg.get("dataSlice")
    if spec is None:
        return None
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("offset"), int)
        or not isinstance(spec.get("length"), int)
    ):
        raise invalid_params("dataSlice needs integer offset and length")
    return spec["offset"], spec["length"]


def transaction(value: Any, encoding: str) -> VersionedTransaction:
    """Decode a wire transaction (base58 by default, as on mainnet; base64 recommended)."""
    if not isinstance(value, str):
        raise invalid_params("invalid type: expected an encoded transaction string")
    try:
        if encoding == "base64":
            raw = base64.b64decode(value, validate=True)
        elif encoding == "base58":
            raw = base58.b58decode(value)
        else:
            raise invalid_params(f"unknown variant `{encoding}`, expected `base58` or `base64`")
    except (ValueError, binascii.Error) as exc:
        raise invalid_param(f"invalid {encoding} encoding: {exc}") from exc
    if len(raw) > MAX_TX_BYTES:
        raise invalid_param(
            f"{encoding} encoded solana_transaction::versioned::VersionedTransaction too large: "
            f"{len(raw)} bytes (max: encoded/raw {MAX_TX_BYTES})"
        )
    try:
        return VersionedTransaction.from_bytes(raw)
    except Exception as exc:  # solders raises its own error types for bad bytes
        raise invalid_param(f"failed to deserialize VersionedTransaction: {exc}") from exc
