"""What every account parser shares: ``ParseError``, reading a public key at an offset, and
``BorshReader``, the field-by-field little-endian reader the pump layouts and events decode with.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from solders.pubkey import Pubkey

from sniper_bot.errors import PermanentError

__all__ = ["BorshReader", "ParseError", "read_pubkey"]


class ParseError(PermanentError):
    """Account bytes do not match the expected layout; the account is not what it claims to be."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(
            f"cannot parse {what}: {detail}",
            user_message=(
                "This token's on-chain data is malformed; it cannot be checked or traded safely."
            ),
        )
        self.what = what


def read_pubkey(data: bytes, offset: int, what: str = "pubkey") -> Pubkey:
    if offset < 0 or offset + 32 > len(data):
        raise ParseError(what, f"needs 32 bytes at offset {offset}, have {len(data)}")
    return Pubkey.from_bytes(data[offset : offset + 32])


_U16: struct.Struct = struct.Struct("<H")
_U32: struct.Struct = struct.Struct("<I")
_U64: struct.Struct = struct.Struct("<Q")
_I64: struct.Struct = struct.Struct("<q")


class BorshReader:
    """Reads Borsh fields in order from ``pos`` (8: after an Anchor discriminator).

    A field past the end raises ``error(short.format(have=len(data), need=end))``, so each layout
    keeps raising its own error type with its own message.
    """

    __slots__ = ("_error", "_short", "data", "pos")

    def __init__(
        self,
        data: bytes,
        pos: int = 8,
        *,
        error: Callable[[str], Exception],
        short: str = "account data ends at {have}, field needs {need}",
    ) -> None:
        self.data, self.pos = data, pos
        self._error, self._short = error, short

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise self._error(self._short.format(have=len(self.data), need=end))
        out = self.data[self.pos : end]
        self.pos = end
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def boolean(self) -> bool:
        return self.take(1)[0] != 0

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])

    def u64(self) -> int:
        return int(_U64.unpack(self.take(8))[0])

    def i64(self) -> int:
        return int(_I64.unpack(self.take(8))[0])

    def u128(self) -> int:
        return int.from_bytes(self.take(16), "little")

    def i128(self) -> int:
        return int.from_bytes(self.take(16), "little", signed=True)

    def pubkey(self) -> Pubkey:
        return Pubkey.from_bytes(self.take(32))

    def pubkeys(self, n: int) -> tuple[Pubkey, ...]:
        return tuple(self.pubkey() for _ in range(n))
