"""What every hosted Anchor program shares (pump.fun, PumpSwap): Anchor's framework error codes
and log lines, the instruction-argument reader, and named account lists with the constraint
checks Anchor generates (signer, mut, seeds, address, owner, initialized)."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from solders.instruction import AccountMeta
from solders.pubkey import Pubkey

from localnet.pump.borsh import Struct
from localnet.pump.hosted import Invocation, ProgramError

INSTRUCTION_FALLBACK_NOT_FOUND = 101
INSTRUCTION_DID_NOT_DESERIALIZE = 102
CONSTRAINT_MUT = 2000
CONSTRAINT_HAS_ONE = 2001
CONSTRAINT_SEEDS = 2006
CONSTRAINT_ASSOCIATED = 2009
CONSTRAINT_ADDRESS = 2012
ACCOUNT_NOT_ENOUGH_KEYS = 3005
ACCOUNT_OWNED_BY_WRONG_PROGRAM = 3007
ACCOUNT_NOT_SIGNER = 3010
ACCOUNT_NOT_INITIALIZED = 3012
ANCHOR_ERRORS: Final = {
    101: ("InstructionFallbackNotFound", "Fallback functions are not supported"),
    102: ("InstructionDidNotDeserialize",
          "The program could not deserialize the given instruction"),
    2000: ("ConstraintMut", "A mut constraint was violated"),
    2001: ("ConstraintHasOne", "A has one constraint was violated"),
    2006: ("ConstraintSeeds", "A seeds constraint was violated"),
    2009: ("ConstraintAssociated", "An associated constraint was violated"),
    2012: ("ConstraintAddress", "An address constraint was violated"),
    3005: ("AccountNotEnoughKeys", "Not enough account keys given to the instruction"),
    3007: ("AccountOwnedByWrongProgram",
           "The given account is owned by a different program than expected"),
    3010: ("AccountNotSigner", "The given account did not sign"),
    3012: ("AccountNotInitialized", "The program expected this account to be already initialized"),
}  # fmt: skip

ErrorTable = Mapping[int, tuple[str, str]]


def thrown(inv: Invocation, code: int, names: ErrorTable, source: str) -> ProgramError:
    """A program error (`err!` / `require!`) as Anchor logs it."""
    name, message = names.get(code, (str(code), ""))
    inv.log(
        f"Program log: AnchorError thrown in {source}. Error Code: {name}. "
        f"Error Number: {code}. Error Message: {message}."
    )
    return ProgramError({"Custom": code}, inv.logs)


def account_error(
    inv: Invocation, code: int, account: str, left: Pubkey | None = None,
    right: Pubkey | None = None,
) -> ProgramError:  # fmt: skip
    name, message = ANCHOR_ERRORS[code]
    inv.log(
        f"Program log: AnchorError caused by account: {account}. Error Code: {name}. "
        f"Error Number: {code}. Error Message: {message}."
    )
    if left is not None and right is not None:
        inv.logs += ["Program log: Left:", f"Program log: {left}", "Program log: Right:",
                     f"Program log: {right}"]  # fmt: skip
    return ProgramError({"Custom": code}, inv.logs)


def framework_error(inv: Invocation, code: int) -> ProgramError:
    name, message = ANCHOR_ERRORS[code]
    inv.log(f"Program log: AnchorError occurred. Error Code: {name}. Error Number: {code}. "
            f"Error Message: {message}.")  # fmt: skip
    return ProgramError({"Custom": code}, inv.logs)


class Reader:
    """Borsh instruction arguments; trailing optional arguments are EOF-tolerant, as the
    programs read them."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, n: int) -> bytes:
        if self.offset + n > len(self.data):
            raise ValueError("instruction data too short")
        out = self.data[self.offset : self.offset + n]
        self.offset += n
        return out

    def u16(self) -> int:
        return int(struct.unpack("<H", self.take(2))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def boolean(self) -> bool:
        return self.take(1) != b"\x00"

    def string(self) -> str:
        (n,) = struct.unpack("<I", self.take(4))
        return self.take(n).decode()

    def pubkey(self) -> Pubkey:
        return Pubkey.from_bytes(self.take(32))

    def optional_bool(self, default: bool = False) -> bool:
        return self.boolean() if self.offset < len(self.data) else default  # EOF-tolerant

    def optional_u64(self, default: int = 0) -> int:
        return self.u64() if self.offset + 8 <= len(self.data) else default


Decoder = Any  # (name, layout, data) -> fields | None


@dataclass
class Accounts:
    """The instruction's accounts by their IDL names, with Anchor's constraint checks."""

    inv: Invocation
    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.inv.accounts) < len(self.names):
            raise framework_error(self.inv, ACCOUNT_NOT_ENOUGH_KEYS)

    def meta(self, name: str) -> AccountMeta:
        return self.inv.accounts[self.names.index(name)]

    def key(self, name: str) -> Pubkey:
        return self.meta(name).pubkey

    def remaining(self) -> list[AccountMeta]:
        return self.inv.accounts[len(self.names) :]

    def expect(self, name: str, expected: Pubkey, code: int = CONSTRAINT_SEEDS) -> Pubkey:
        given = self.key(name)
        if given != expected:
            raise account_error(self.inv, code, name, given, expected)
        return given

    def writable(self, *names: str) -> None:
        for name in names:
            if not self.meta(name).is_writable:
                raise account_error(self.inv, CONSTRAINT_MUT, name)

    def signer(self, *names: str) -> None:
        for name in names:
            if not self.meta(name).is_signer:
                raise account_error(self.inv, ACCOUNT_NOT_SIGNER, name)

    def load(
        self, name: str, kind: str, layout: Struct, owner: Pubkey, decode: Decoder
    ) -> dict[str, Any]:
        """The account's fields (`decode(kind, layout, data)`; None = wrong discriminator)."""
        account = self.inv.read(self.key(name))
        if account is None:
            raise account_error(self.inv, ACCOUNT_NOT_INITIALIZED, name)
        if account.owner != owner:
            raise account_error(
                self.inv, ACCOUNT_OWNED_BY_WRONG_PROGRAM, name, account.owner, owner
            )
        fields: dict[str, Any] | None = decode(kind, layout, bytes(account.data))
        if fields is None:
            raise account_error(self.inv, ACCOUNT_NOT_INITIALIZED, name)
        return fields
