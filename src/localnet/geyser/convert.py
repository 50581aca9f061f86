"""Localnet's records in Yellowstone's protobuf shape (`yellowstone_proto`).

A transaction update carries the whole message (header, keys, blockhash, instructions, lookups)
and the status meta as agave's Geyser plugin fills it: `err` as the bincode `TransactionError`
(None when it succeeded), fee, pre/post balances, logs, token balances, loaded addresses (lookup
tables resolved when it executed), return data, compute units, and the inner instructions (CPIs
with account indexes into the transaction's keys and their stack height; only outer instructions
that made CPIs, `inner_instructions_none` false).
"""

from __future__ import annotations

import struct
from typing import Any

from solders.account import Account
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.encoding import ui_amount_string
from localnet.execution import LOOKUP_TABLE_META_SIZE
from localnet.history import TokenBalance, TxOutcome
from yellowstone_proto import geyser_pb2 as pb
from yellowstone_proto import solana_storage_pb2 as storage

# agave's `TransactionError` and `InstructionError` variants, in declaration order (bincode tags)
TRANSACTION_ERRORS = (
    "AccountInUse", "AccountLoadedTwice", "AccountNotFound", "ProgramAccountNotFound",
    "InsufficientFundsForFee", "InvalidAccountForFee", "AlreadyProcessed", "BlockhashNotFound",
    "InstructionError", "CallChainTooDeep", "MissingSignatureForFee", "InvalidAccountIndex",
    "SignatureFailure", "InvalidProgramForExecution", "SanitizeFailure", "ClusterMaintenance",
    "AccountBorrowOutstanding", "WouldExceedMaxBlockCostLimit", "UnsupportedVersion",
    "InvalidWritableAccount", "WouldExceedMaxAccountCostLimit",
    "WouldExceedAccountDataBlockLimit", "TooManyAccountLocks", "AddressLookupTableNotFound",
    "InvalidAddressLookupTableOwner", "InvalidAddressLookupTableData",
    "InvalidAddressLookupTableIndex", "InvalidRentPayingAccount", "WouldExceedMaxVoteCostLimit",
    "WouldExceedAccountDataTotalLimit", "DuplicateInstruction", "InsufficientFundsForRent",
    "MaxLoadedAccountsDataSizeExceeded", "InvalidLoadedAccountsDataSizeLimit",
    "ResanitizationNeeded", "ProgramExecutionTemporarilyRestricted", "UnbalancedTransaction",
    "ProgramCacheHitMaxLimit", "CommitCancelled",
)  # fmt: skip
INSTRUCTION_ERRORS = (
    "GenericError", "InvalidArgument", "InvalidInstructionData", "InvalidAccountData",
    "AccountDataTooSmall", "InsufficientFunds", "IncorrectProgramId", "MissingRequiredSignature",
    "AccountAlreadyInitialized", "UninitializedAccount", "UnbalancedInstruction",
    "ModifiedProgramId", "ExternalAccountLamportSpend", "ExternalAccountDataModified",
    "ReadonlyLamportChange", "ReadonlyDataModified", "DuplicateAccountIndex", "ExecutableModified",
    "RentEpochModified", "NotEnoughAccountKeys", "AccountDataSizeChanged", "AccountNotExecutable",
    "AccountBorrowFailed", "AccountBorrowOutstanding", "DuplicateAccountOutOfSync", "Custom",
    "InvalidError", "ExecutableDataModified", "ExecutableLamportChange",
    "ExecutableAccountNotRentExempt", "UnsupportedProgramId", "CallDepth", "MissingAccount",
    "ReentrancyNotAllowed", "MaxSeedLengthExceeded", "InvalidSeeds", "InvalidRealloc",
    "ComputationalBudgetExceeded", "PrivilegeEscalation", "ProgramEnvironmentSetupFailure",
    "ProgramFailedToComplete", "ProgramFailedToCompile", "Immutable", "IncorrectAuthority",
    "BorshIoError", "AccountNotRentExempt", "InvalidAccountOwner", "ArithmeticOverflow",
    "UnsupportedSysvar", "IllegalOwner", "MaxAccountsDataAllocationsExceeded",
    "MaxAccountsExceeded", "MaxInstructionTraceLengthExceeded",
    "BuiltinProgramsMustConsumeComputeUnits",
)  # fmt: skip


def _tag(names: tuple[str, ...], name: str) -> bytes:
    if name not in names:
        raise ValueError(f"unknown error variant {name!r}")
    return struct.pack("<I", names.index(name))


def _instruction_error(err: Any) -> bytes:
    if isinstance(err, str):
        return _tag(INSTRUCTION_ERRORS, err)
    if isinstance(err, dict) and len(err) == 1:
        ((name, value),) = err.items()
        if name == "Custom":
            return _tag(INSTRUCTION_ERRORS, name) + struct.pack("<I", int(value))
        if name == "BorshIoError":
            text = str(value).encode()
            return _tag(INSTRUCTION_ERRORS, name) + struct.pack("<Q", len(text)) + text
    raise ValueError(f"unsupported InstructionError {err!r}")


def transaction_error_bincode(err: Any) -> bytes:
    """agave's serde JSON form of a `TransactionError` -> its bincode bytes (what Geyser sends)."""
    if isinstance(err, str):
        return _tag(TRANSACTION_ERRORS, err)
    if isinstance(err, dict) and len(err) == 1:
        ((name, value),) = err.items()
        tag = _tag(TRANSACTION_ERRORS, name)
        if name == "InstructionError" and isinstance(value, list) and len(value) == 2:
            return tag + struct.pack("<B", int(value[0])) + _instruction_error(value[1])
        if name == "DuplicateInstruction":
            return tag + struct.pack("<B", int(value))
        if name in ("InsufficientFundsForRent", "ProgramExecutionTemporarilyRestricted"):
            return tag + struct.pack("<B", int(value["account_index"]))
    raise ValueError(f"unsupported TransactionError {err!r}")


def loaded_addresses(vtx: VersionedTransaction, lookup: Any) -> tuple[list[Pubkey], list[Pubkey]]:
    """(writable, readonly) addresses a v0 message loads through lookup tables, in agave's
    order (every table's writable indexes, then every table's readonly ones).
    `lookup(pubkey) -> Account | None` reads the bank."""
    message = vtx.message
    if not isinstance(message, MessageV0):
        return [], []
    writable: list[Pubkey] = []
    readonly: list[Pubkey] = []
    for table_lookup in message.address_table_lookups:
        table = lookup(table_lookup.account_key)
        if table is None:
            continue
        data = bytes(table.data)[LOOKUP_TABLE_META_SIZE:]
        addresses = [Pubkey.from_bytes(data[i : i + 32]) for i in range(0, len(data) - 31, 32)]
        for indexes, out in (
            (table_lookup.writable_indexes, writable),
            (table_lookup.readonly_indexes, readonly),
        ):
            out.extend(addresses[i] for i in indexes if i < len(addresses))
    return writable, readonly


def message_proto(vtx: VersionedTransaction) -> storage.Message:
    message = vtx.message
    header = message.header
    lookups = []
    if isinstance(message, MessageV0):
        lookups = [
            storage.MessageAddressTableLookup(
                account_key=bytes(t.account_key),
                writable_indexes=bytes(t.writable_indexes),
                readonly_indexes=bytes(t.readonly_indexes),
            )
            for t in message.address_table_lookups
        ]
    return storage.Message(
        header=storage.MessageHeader(
            num_required_signatures=header.num_required_signatures,
            num_readonly_signed_accounts=header.num_readonly_signed_accounts,
            num_readonly_unsigned_accounts=header.num_readonly_unsigned_accounts,
        ),
        account_keys=[bytes(k) for k in message.account_keys],
        recent_blockhash=bytes(message.recent_blockhash),
        instructions=[
            storage.CompiledInstruction(
                program_id_index=ix.program_id_index, accounts=bytes(ix.accounts), data=ix.data
            )
            for ix in message.instructions
        ],
        versioned=isinstance(message, MessageV0),
        address_table_lookups=lookups,
    )


def _token_balance(balance: TokenBalance) -> storage.TokenBalance:
    ui = ui_amount_string(balance.amount, balance.decimals)
    return storage.TokenBalance(
        account_index=balance.account_index,
        mint=str(balance.mint),
        owner=str(balance.owner),
        program_id=str(balance.program_id),
        ui_token_amount=storage.UiTokenAmount(
            ui_amount=float(ui),
            decimals=balance.decimals,
            amount=str(balance.amount),
            ui_amount_string=ui,
        ),
    )


def transaction_info(
    outcome: TxOutcome, index: int, loaded: tuple[list[Pubkey], list[Pubkey]]
) -> pb.SubscribeUpdateTransactionInfo:
    """One landed transaction (`outcome.transaction` must be set) as Geyser sends it."""
    vtx = outcome.transaction
    if vtx is None:
        raise ValueError(f"transaction {outcome.signature} has no recorded message")
    meta = storage.TransactionStatusMeta(
        fee=outcome.fee,
        pre_balances=list(outcome.pre_balances),
        post_balances=list(outcome.post_balances),
        inner_instructions=[
            storage.InnerInstructions(
                index=index,
                instructions=[
                    storage.InnerInstruction(
                        program_id_index=ix.program_id_index,
                        accounts=bytes(ix.accounts),
                        data=ix.data,
                        stack_height=ix.stack_height,
                    )
                    for ix in instructions
                ],
            )
            for index, instructions in outcome.inner_instructions
        ],
        inner_instructions_none=False,
        log_messages=list(outcome.logs),
        log_messages_none=False,
        pre_token_balances=[_token_balance(b) for b in outcome.pre_token_balances],
        post_token_balances=[_token_balance(b) for b in outcome.post_token_balances],
        loaded_writable_addresses=[bytes(k) for k in loaded[0]],
        loaded_readonly_addresses=[bytes(k) for k in loaded[1]],
        return_data_none=outcome.return_data is None,
        compute_units_consumed=outcome.units_consumed,
    )
    if outcome.err is not None:
        meta.err.err = transaction_error_bincode(outcome.err)
    if outcome.return_data is not None:
        program_id, data = outcome.return_data
        meta.return_data.program_id = bytes(program_id)
        meta.return_data.data = data
    return pb.SubscribeUpdateTransactionInfo(
        signature=bytes(outcome.signature),
        is_vote=False,  # localnet has no validators voting
        transaction=storage.Transaction(
            signatures=[bytes(s) for s in vtx.signatures], message=message_proto(vtx)
        ),
        meta=meta,
        index=index,
    )


def account_info(
    pubkey: Pubkey, account: Account, write_version: int
) -> pb.SubscribeUpdateAccountInfo:
    return pb.SubscribeUpdateAccountInfo(
        pubkey=bytes(pubkey),
        lamports=account.lamports,
        owner=bytes(account.owner),
        executable=account.executable,
        rent_epoch=account.rent_epoch,
        data=bytes(account.data),
        write_version=write_version,
    )
