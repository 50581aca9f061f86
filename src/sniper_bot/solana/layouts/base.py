"""What every account parser shares: ``ParseError`` and reading a public key at an offset."""

from __future__ import annotations

from solders.pubkey import Pubkey

from sniper_bot.errors import PermanentError

__all__ = ["ParseError", "read_pubkey"]


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
