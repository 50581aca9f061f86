"""A small Borsh codec driven by field lists, for the Anchor accounts, events and arguments of the
pump programs. Field types: "u8" "u16" "u64" "i64" "u128" "i128" "bool" "pubkey" "string",
("array", T, n), ("vec", Struct), ("struct", Struct). Values are ints, bools, Pubkeys, strs,
lists and dicts."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

FieldType = Any  # str | tuple[...]; kept loose: the field lists below are the schema

_INTS = {"u8": "<B", "u16": "<H", "u64": "<Q", "i64": "<q"}


@dataclass(frozen=True, slots=True)
class Struct:
    name: str
    fields: tuple[tuple[str, FieldType], ...]

    def encode(self, values: Mapping[str, Any]) -> bytes:
        return b"".join(_encode(t, values[name]) for name, t in self.fields)

    def decode(self, data: bytes, offset: int = 0) -> tuple[dict[str, Any], int]:
        """Decode at `offset`; fields past the end of `data` read as zero (Anchor accounts only
        ever gained trailing fields, and the programs read short accounts that way)."""
        out: dict[str, Any] = {}
        padded = data + bytes(_max_size(self))
        for name, t in self.fields:
            out[name], offset = _decode(t, padded, offset)
        return out, offset

    def size(self) -> int:
        return _max_size(self)


def _encode(t: FieldType, v: Any) -> bytes:
    if isinstance(t, str):
        if t in _INTS:
            return struct.pack(_INTS[t], v)
        if t == "u128":
            return int(v).to_bytes(16, "little")
        if t == "i128":
            return int(v).to_bytes(16, "little", signed=True)
        if t == "bool":
            return b"\x01" if v else b"\x00"
        if t == "pubkey":
            return bytes(v)
        if t == "string":
            raw = str(v).encode()
            return struct.pack("<I", len(raw)) + raw
        raise ValueError(f"unknown borsh type {t}")
    kind = t[0]
    if kind == "array":
        _, inner, n = t
        items: Sequence[Any] = v
        if len(items) != n:
            raise ValueError(f"array of {n} expected, got {len(items)}")
        return b"".join(_encode(inner, item) for item in items)
    if kind == "vec":
        inner_struct: Struct = t[1]
        return struct.pack("<I", len(v)) + b"".join(inner_struct.encode(item) for item in v)
    if kind == "struct":
        return bytes(t[1].encode(v))
    raise ValueError(f"unknown borsh type {t}")


def _decode(t: FieldType, data: bytes, offset: int) -> tuple[Any, int]:
    if isinstance(t, str):
        if t in _INTS:
            fmt = _INTS[t]
            return struct.unpack_from(fmt, data, offset)[0], offset + struct.calcsize(fmt)
        if t == "u128":
            return int.from_bytes(data[offset : offset + 16], "little"), offset + 16
        if t == "i128":
            raw = data[offset : offset + 16]
            return int.from_bytes(raw, "little", signed=True), offset + 16
        if t == "bool":
            return data[offset] != 0, offset + 1
        if t == "pubkey":
            return Pubkey.from_bytes(data[offset : offset + 32]), offset + 32
        if t == "string":
            (n,) = struct.unpack_from("<I", data, offset)
            start = offset + 4
            return data[start : start + n].decode(errors="replace"), start + n
        raise ValueError(f"unknown borsh type {t}")
    kind = t[0]
    if kind == "array":
        _, inner, n = t
        items = []
        for _ in range(n):
            item, offset = _decode(inner, data, offset)
            items.append(item)
        return items, offset
    if kind == "vec":
        (n,) = struct.unpack_from("<I", data, offset)
        offset += 4
        out = []
        for _ in range(n):
            item, offset = t[1].decode(data, offset)
            out.append(item)
        return out, offset
    if kind == "struct":
        decoded: tuple[dict[str, Any], int] = t[1].decode(data, offset)
        return decoded
    raise ValueError(f"unknown borsh type {t}")


def _size(t: FieldType) -> int:
    if isinstance(t, str):
        sizes = {
            "u8": 1,
            "u16": 2,
            "u64": 8,
            "i64": 8,
            "u128": 16,
            "i128": 16,
            "bool": 1,
            "pubkey": 32,
        }
        return sizes.get(t, 4)  # a string or vec counts its length prefix
    if t[0] == "array":
        return int(_size(t[1]) * t[2])
    if t[0] == "vec":
        return 4
    return _max_size(t[1])


def _max_size(s: Struct) -> int:
    return sum(_size(t) for _, t in s.fields)
