"""Programs localnet hosts itself: their instructions run in Python, inside the same atomic
transaction, with every token and system effect executed by LiteSVM's real programs.

How a transaction with a hosted instruction (pump.fun, pump fees) executes:

1. The original transaction is simulated as sent. Stand-in bytecode (Memo v2, as the market does
   for Jupiter) sits at the hosted program ids, so the hosted instruction itself fails there; the
   simulation only answers what a leader checks before execution: signatures, fee payer, the fee.
   Any error that is not an `InstructionError` drops the transaction, as mainnet does.
2. Every account of the message is snapshotted. The instructions then run in order: each run of
   ordinary instructions as one internal LiteSVM transaction (same payer, signature check off:
   step 1 verified the real signatures), each hosted instruction by its Python handler, which
   validates accounts like the program (PDA seeds, owners, signer and writable flags, fee
   recipients), computes the trade and executes its token and system legs as real SPL Token /
   Token-2022 / System instructions (a transfer fee, a freeze, a pause bite as on mainnet), and
   writes what only the program itself can write (its own accounts' data, lamports it debits
   from accounts it owns) directly.
3. On any failure every snapshotted account is restored and the fee charged: the transaction lands
   failed with `InstructionError(index, ...)` at the instruction that failed, like mainnet. On
   success the internal transactions' fees are refunded and the real fee charged once.

Logs are stitched the way the runtime writes them: `Program <id> invoke [1]`, the handler's
`Program log:` / `Program data:` lines, the real inner instructions' logs one level deeper (they
are what the program's CPIs would log), `consumed N of M compute units`, `success` / `failed`.

Inner instructions are recorded the way agave's instruction trace reports them: every real
instruction a handler executes (`Invocation.invoke`) is a CPI at the handler's stack height + 1,
followed by the CPIs it made in turn (one level deeper again), all under the outer instruction's
index, with account indexes into the original transaction's keys; ordinary outer instructions
keep the inner instructions LiteSVM recorded for them.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from localnet.encoding import transaction_error_to_json
from localnet.execution import COMPUTE_BUDGET_PROGRAM, HostedResult, writable_flags
from localnet.history import InnerGroups, InnerInstruction

MAX_COMPUTE_UNITS = 1_400_000
DEFAULT_UNITS_PER_INSTRUCTION = 200_000
_INVOKE = re.compile(r"^Program (\S+) invoke \[(\d+)\]$")


class HostBank(Protocol):
    """What the executor needs of the cluster."""

    svm: Any
    sigverify: bool
    slot: int

    def block_time(self, slot: int) -> int: ...

    def loaded_addresses(self, vtx: VersionedTransaction) -> tuple[list[Pubkey], list[Pubkey]]: ...


class ProgramError(Exception):
    """A hosted instruction failed: `error` is the InstructionError payload ({"Custom": n} or a
    runtime error name), `logs` what the program logged before failing."""

    def __init__(
        self, error: Any, logs: Iterable[str] = (), *, transaction_error: Any = None
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.logs = list(logs)
        self.transaction_error = transaction_error  # a CPI's transaction-level error, e.g. rent


@dataclass
class Invocation:
    """One hosted instruction being executed: its accounts, data and what it has logged."""

    host: HostedPrograms
    index: int
    program_id: Pubkey
    accounts: list[AccountMeta]
    data: bytes
    logs: list[str] = field(default_factory=list)
    units: int = 0
    depth: int = 1  # invocation stack height: 1 for an outer instruction, 2 for its CPI, ...

    # -- reads and writes ------------------------------------------------------------------------
    def read(self, key: Pubkey) -> Account | None:
        account = self.host.bank.svm.get_account(key)
        return None if account is None or (account.lamports == 0 and not account.data) else account

    def write(self, key: Pubkey, account: Account) -> None:
        """Write as the owning program would (its data, its lamports); restored on failure."""
        self.host.touch(key)
        self.host.bank.svm.set_account(key, account)

    def move_lamports(self, source: Pubkey, dest: Pubkey, lamports: int) -> None:
        """Debit an account this program owns and credit another, as the program does."""
        if lamports <= 0:
            return
        src = self.read(source)
        if src is None or src.lamports < lamports:
            raise ProgramError("InsufficientFunds", self.logs)
        self.write(source, _with_lamports(src, src.lamports - lamports))
        dst = self.read(dest)
        if dst is None:
            self.write(dest, Account(lamports, b"", Pubkey.default(), False, 0))
        else:
            self.write(dest, _with_lamports(dst, dst.lamports + lamports))

    def rent(self, size: int) -> int:
        return int(self.host.bank.svm.minimum_balance_for_rent_exemption(size))

    def now(self) -> int:
        return self.host.bank.block_time(self.host.bank.slot)

    def log(self, line: str) -> None:
        self.logs.append(line)

    # -- CPIs ------------------------------------------------------------------------------------
    def invoke(self, instructions: list[Instruction]) -> None:
        """Run real instructions now (what the program's CPIs do). Their logs appear one level
        deeper; a failure fails this instruction with the inner error, as a failed CPI does."""
        if not instructions:
            return
        err, logs, units = self.host.run_internal(instructions, outer=self.index, depth=self.depth)
        self.units += units
        self.logs.extend(_deeper(logs))
        if err is not None:
            if isinstance(err, dict) and "InstructionError" in err:
                raise ProgramError(err["InstructionError"][1], self.logs)
            raise ProgramError(err, self.logs, transaction_error=err)

    def cpi(
        self,
        program_id: Pubkey,
        run: Callable[[Invocation], None],
        instruction: Instruction | None = None,
    ) -> None:
        """A CPI into another hosted program: `run` executes as that program (its logs one level
        deeper, between `invoke [2]` and `success` / `failed`), a failure fails this one too.
        `instruction` is the CPI as the program builds it (recorded as the inner instruction;
        without it only the program id is recorded)."""
        child = Invocation(
            self.host, self.index, program_id, self.accounts, self.data, depth=self.depth + 1
        )
        ix = instruction or Instruction(program_id, b"", [])
        self.host.record(self.index, ix.program_id, [m.pubkey for m in ix.accounts],
                         bytes(ix.data), self.depth + 1)  # fmt: skip
        pid = str(program_id)
        self.logs.append(f"Program {pid} invoke [{self.depth + 1}]")
        try:
            run(child)
        except ProgramError as failure:
            self.logs.extend(_deeper(failure.logs))
            self.logs.append(f"Program {pid} failed: {_describe(failure.error)}")
            self.units += child.units
            err = failure.transaction_error
            raise ProgramError(failure.error, self.logs, transaction_error=err) from failure
        self.logs.extend(_deeper(child.logs))
        self.logs.append(_consumed(pid, child.units, MAX_COMPUTE_UNITS))
        self.logs.append(f"Program {pid} success")
        self.units += child.units


Handler = Callable[[Invocation], None]


@dataclass(frozen=True, slots=True)
class HostedProgram:
    program_id: Pubkey
    handler: Handler
    base_units: Callable[[Invocation], int]


class HostedPrograms:
    """The `TransactionProcessor` for every hosted program (see the module doc)."""

    def __init__(self, bank: HostBank) -> None:
        self.bank = bank
        self.programs: dict[Pubkey, HostedProgram] = {}
        self._snapshots: dict[Pubkey, Account | None] = {}
        self._internal_fees = 0
        self._counter = itertools.count()
        self._key_index: dict[Pubkey, int] = {}  # the executing transaction's account keys
        self._inner: dict[int, list[InnerInstruction]] = {}  # outer index -> its CPIs

    def register(self, program: HostedProgram) -> None:
        self.programs[program.program_id] = program

    # -- TransactionProcessor ----------------------------------------------------------------------
    def claims(self, tx: VersionedTransaction) -> bool:
        msg = tx.message
        keys = msg.account_keys
        return any(keys[ix.program_id_index] in self.programs for ix in msg.instructions)

    def execute(self, tx: VersionedTransaction, *, commit: bool, sig_verify: bool) -> HostedResult:
        svm = self.bank.svm
        msg = tx.message
        # a v0 message's lookup tables: LiteSVM resolves them in the simulation (a missing table
        # or index drops the transaction there), the hosted programs see the loaded keys
        loaded: tuple[list[Pubkey], list[Pubkey]] = ([], [])
        if isinstance(msg, MessageV0) and msg.address_table_lookups:
            loaded = self.bank.loaded_addresses(tx)
        sim = self._with_sigverify(sig_verify, lambda: svm.simulate_transaction(tx))
        if isinstance(sim, FailedTransactionMetadata):
            pre_err = transaction_error_to_json(sim.err())
            if not (isinstance(pre_err, dict) and "InstructionError" in pre_err):
                return HostedResult(err=None, dropped=pre_err)
        fee = int(sim.meta().fee())
        keys = [*msg.account_keys, *loaded[0], *loaded[1]]
        payer = keys[0]
        self._snapshots = {}
        self._internal_fees = 0
        self._inner = {}
        self._key_index = {}
        for i, key in enumerate(keys):
            self._key_index.setdefault(key, i)
        for key in keys:
            self.touch(key)
        instructions = _decompile(msg, loaded)
        limit = _compute_unit_limit(msg, len(instructions))
        logs: list[str] = []
        units = 0
        err: Any = None
        index = 0
        while index < len(instructions) and err is None:
            ix = instructions[index]
            program = self.programs.get(ix.program_id)
            if program is None:
                end = index
                while end < len(instructions) and instructions[end].program_id not in self.programs:
                    end += 1
                seg_err, seg_logs, seg_units = self.run_internal(
                    instructions[index:end], outer=index, depth=0
                )
                logs += seg_logs
                units += seg_units
                if seg_err is not None:
                    err = _shift(seg_err, index)
                index = end
                continue
            inv = Invocation(self, index, ix.program_id, list(ix.accounts), bytes(ix.data))
            pid = str(ix.program_id)
            logs.append(f"Program {pid} invoke [1]")
            try:
                program.handler(inv)
            except ProgramError as failure:
                inv.units += program.base_units(inv)
                logs += failure.logs
                logs.append(_consumed(pid, inv.units, limit - units))
                logs.append(f"Program {pid} failed: {_describe(failure.error)}")
                units += inv.units
                err = failure.transaction_error or {"InstructionError": [index, failure.error]}
                break
            inv.units += program.base_units(inv)
            logs += inv.logs
            logs.append(_consumed(pid, inv.units, limit - units))
            logs.append(f"Program {pid} success")
            units += inv.units
            index += 1
        post: dict[Pubkey, Account] = {}
        if err is None:
            account = svm.get_account(payer)
            if account is not None:
                refund = self._internal_fees - fee
                svm.set_account(payer, _with_lamports(account, account.lamports + refund))
            if not commit:
                post = {k: a for k in self._snapshots if (a := svm.get_account(k)) is not None}
        if err is not None or not commit:
            self._restore()
            if err is not None and commit:
                account = svm.get_account(payer)
                if account is not None:
                    svm.set_account(payer, _with_lamports(account, account.lamports - fee))
        self._snapshots = {}
        inner: InnerGroups = tuple(
            (i, tuple(self._inner[i])) for i in sorted(self._inner) if self._inner[i]
        )
        self._inner = {}
        return HostedResult(
            err=err,
            logs=tuple(logs),
            units_consumed=units,
            fee=fee,
            post_accounts=post,
            inner_instructions=inner,
        )

    # -- helpers for Invocation -----------------------------------------------------------------
    def touch(self, key: Pubkey) -> None:
        if key not in self._snapshots:
            self._snapshots[key] = self.bank.svm.get_account(key)

    def record(
        self, outer: int, program: Pubkey, accounts: list[Pubkey], data: bytes, height: int
    ) -> None:
        """Record one CPI of outer instruction `outer` at stack height `height`. A key the
        transaction does not carry cannot be named by index (a real CPI could not use it
        either): such an instruction is not recorded."""
        index = self._key_index
        if program not in index or any(k not in index for k in accounts):
            return
        entry = InnerInstruction(index[program], tuple(index[k] for k in accounts), data, height)
        self._inner.setdefault(outer, []).append(entry)

    def _record_trace(
        self,
        instructions: list[Instruction],
        keys: list[Pubkey],
        meta: Any,
        err: Any,
        outer: int,
        depth: int,
    ) -> None:
        """The internal transaction's instructions as the CPIs they stand for: with `depth` 0
        they are outer instructions `outer`, `outer + 1`, ... (only their own CPIs recorded),
        else CPIs of outer instruction `outer` at stack height `depth + 1`, each followed by its
        own CPIs. Instructions after a failed one never ran and are not recorded."""
        ran = len(instructions)
        if isinstance(err, dict) and "InstructionError" in err:
            ran = int(err["InstructionError"][0]) + 1
        per_instruction = list(meta.inner_instructions())
        for i, ix in enumerate(instructions[:ran]):
            target = outer + i if depth == 0 else outer
            if depth:
                self.record(target, ix.program_id, [m.pubkey for m in ix.accounts],
                            bytes(ix.data), depth + 1)  # fmt: skip
            for inner in per_instruction[i] if i < len(per_instruction) else ():
                compiled = inner.instruction()
                self.record(
                    target,
                    keys[compiled.program_id_index],
                    [keys[a] for a in bytes(compiled.accounts)],
                    bytes(compiled.data),
                    int(inner.stack_height() or 2) + depth,
                )

    def run_internal(
        self, instructions: list[Instruction], *, outer: int | None = None, depth: int = 0
    ) -> tuple[Any, list[str], int]:
        """Execute real instructions as one internal transaction (no signature check; its fee is
        refunded by `execute`). Returns (error JSON or None, logs, compute units). With `outer`
        the instructions' CPIs are recorded (see `_record_trace`)."""
        payer = next(iter(self._snapshots))
        for ix in instructions:
            for account_meta in ix.accounts:
                self.touch(account_meta.pubkey)
        msg = MessageV0.try_compile(payer, instructions, [], self.bank.svm.latest_blockhash())
        n = msg.header.num_required_signatures
        tag = next(self._counter).to_bytes(8, "little")
        sigs = [
            Signature.from_bytes(hashlib.sha512(tag + bytes([i]) + bytes(payer)).digest())
            for i in range(n)
        ]
        vtx = VersionedTransaction.populate(msg, sigs)
        result = self._with_sigverify(False, lambda: self.bank.svm.send_transaction(vtx))
        meta: Any = result.meta() if isinstance(result, FailedTransactionMetadata) else result
        err = transaction_error_to_json(result.err()) if meta is not result else None
        self._internal_fees += int(meta.fee())
        logs = list(meta.logs())
        if outer is not None:
            self._record_trace(instructions, list(msg.account_keys), meta, err, outer, depth)
        return err, logs, int(meta.compute_units_consumed())

    def _restore(self) -> None:
        svm = self.bank.svm
        for key, account in self._snapshots.items():
            svm.set_account(key, account or Account(0, b"", Pubkey.default(), False, 0))

    def _with_sigverify(self, enabled: bool, run: Callable[[], Any]) -> Any:
        svm = self.bank.svm
        toggled = self.bank.sigverify != enabled
        if toggled:
            svm.with_sigverify(enabled)
        try:
            return run()
        finally:
            if toggled:
                svm.with_sigverify(self.bank.sigverify)


def _with_lamports(account: Account, lamports: int) -> Account:
    return Account(lamports, bytes(account.data), account.owner, account.executable, 0)


def _decompile(msg: Any, loaded: tuple[list[Pubkey], list[Pubkey]] = ([], [])) -> list[Instruction]:
    """The message's instructions with account metas; `loaded`: its lookup-table addresses
    (writable, readonly), which follow the static keys."""
    keys = [*msg.account_keys, *loaded[0], *loaded[1]]
    writable = [*writable_flags(msg), *([True] * len(loaded[0])), *([False] * len(loaded[1]))]
    signers = msg.header.num_required_signatures
    out = []
    for cix in msg.instructions:
        metas = [AccountMeta(keys[i], i < signers, writable[i]) for i in bytes(cix.accounts)]
        out.append(Instruction(keys[cix.program_id_index], bytes(cix.data), metas))
    return out


def _compute_unit_limit(msg: Any, n_instructions: int) -> int:
    keys = msg.account_keys
    budget = 0
    for ix in msg.instructions:
        if keys[ix.program_id_index] == COMPUTE_BUDGET_PROGRAM:
            data = bytes(ix.data)
            if len(data) == 5 and data[0] == 2:
                return min(MAX_COMPUTE_UNITS, int.from_bytes(data[1:5], "little"))
            budget += 1
    return min(MAX_COMPUTE_UNITS, DEFAULT_UNITS_PER_INSTRUCTION * (n_instructions - budget))


def _shift(err: Any, offset: int) -> Any:
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        return {"InstructionError": [index + offset, inner]}
    return err


def _deeper(logs: list[str]) -> list[str]:
    out = []
    for line in logs:
        m = _INVOKE.match(line)
        out.append(f"Program {m.group(1)} invoke [{int(m.group(2)) + 1}]" if m else line)
    return out


def _consumed(program: str, units: int, available: int) -> str:
    return f"Program {program} consumed {units} of {max(units, available)} compute units"


def _describe(error: Any) -> str:
    if isinstance(error, dict) and "Custom" in error:
        return f"custom program error: {int(error['Custom']):#x}"
    names = {
        "InvalidAccountData": "invalid account data for instruction",
        "InsufficientFunds": "insufficient funds for instruction",
        "MissingRequiredSignature": "missing required signature for instruction",
        "InvalidInstructionData": "invalid instruction data",
        "NotEnoughAccountKeys": "insufficient account keys for instruction",
    }
    return names.get(str(error), str(error))
