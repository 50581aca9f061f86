"""Launches and trades from a transaction's instructions alone (no logs): pure decoders.

A Geyser transaction update carries the message (account keys, compiled instructions, address
table lookups) and the status meta (inner instructions, the addresses the lookups loaded, token
balances, and logs that may be truncated or absent). This module turns that into facts:

    ixs = flatten(keys, loaded_writable, loaded_readonly, outer, inner)   # execution order
    facts = decode_instructions(ixs, genesis)

* pump.fun ``create`` / ``create_v2``: the mint, bonding curve, user, creator and metadata from
  the instruction's accounts and Borsh args (pump.json IDL), the token program the variant
  mints with, and the curve's opening reserves from ``genesis`` (the ``Global`` account's
  ``initial_*`` fields, which is what the program writes into the new curve). A ``holder_reward``
  create's creator is the ``holder-rewards`` PDA of the mint, as the program sets it.
* pump.fun ``buy`` / ``buy_exact_sol_in`` / ``sell`` / ``buy_v2`` / ``sell_v2``: who traded which
  mint, and the bonding curve's associated token account (its post balance is the curve's real
  token reserves after the transaction).
* pump.fun ``migrate`` / ``migrate_v2`` (the curve graduates to a PumpSwap pool), PumpSwap
  ``create_pool``, Raydium AMM v4 ``initialize2`` and Raydium CPMM ``initialize``: a pool of a
  mint (SOL pairs only, the mint is the non-WSOL side).
  A pool told twice in one transaction (``migrate`` and the ``create_pool`` it CPIs, both in
  the instructions Geyser reports) is one pool, the first mention's; the ``migrate`` names no
  creator, so the CPI's ``coin_creator`` argument (when set) becomes the pool's creator.
* Anchor event CPIs (``emit_cpi!``: an inner instruction to the pump program itself whose data
  is ``e445a52e51cb9a1d`` || event discriminator || Borsh event) decode to the same
  ``CreateEvent`` / ``TradeEvent`` / ``CompleteEvent`` the logs carry.

Everything raises ``InstructionDecodeError`` (a ``DecodeError``) for a malformed instruction of a
program we decode; instructions of other programs and discriminators we do not read are skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from solders.pubkey import Pubkey

from sniper_bot.detection.base import DecodeError
from sniper_bot.domain.launch import LaunchSource
from sniper_bot.solana import pumpfun as pf
from sniper_bot.solana.layouts.base import BorshReader
from sniper_bot.solana.programs import (
    PUMP_AMM_PROGRAM_ID,
    PUMP_PROGRAM_ID,
    RAYDIUM_CPMM_PROGRAM_ID,
    RAYDIUM_V4_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)
from sniper_bot.solana.pump_events import (
    CreateEvent,
    EventLayoutError,
    LoggedEvent,
    TradeEvent,
    decode_pump_event,
)

__all__ = [
    "EVENT_IX_TAG",
    "MAINNET_GENESIS",
    "CurveGenesis",
    "InstructionDecodeError",
    "Ix",
    "PoolCreate",
    "PumpCreate",
    "PumpTrade",
    "TxFacts",
    "decode_instructions",
    "flatten",
]

EVENT_IX_TAG: Final = bytes.fromhex("e445a52e51cb9a1d")  # sha256("anchor:event")[:8], LE
_MAX_STRING: Final = 1_000
_ZERO: Final = Pubkey.default()
_WSOL: Final = pf.WSOL_MINT


def _disc(name: str) -> bytes:
    return hashlib.sha256(f"global:{name}".encode()).digest()[:8]


_CREATE: Final = _disc("create")
_CREATE_V2: Final = _disc("create_v2")
_MIGRATE: Final = _disc("migrate")
_MIGRATE_V2: Final = _disc("migrate_v2")
_CREATE_POOL: Final = _disc("create_pool")  # PumpSwap
_CPMM_INITIALIZE: Final = _disc("initialize")  # Raydium CPMM
_RAYDIUM_V4_INITIALIZE2: Final = 1  # AmmInstruction::Initialize2 (one-byte tag)
# (instruction name as the logs say it, is_buy, mint index, curve index, curve ATA index,
#  user index); pump.json account order
_TRADES: Final[dict[bytes, tuple[str, bool, int, int, int, int]]] = {
    pf.BUY_DISCRIMINATOR: ("Buy", True, 2, 3, 4, 6),
    pf.BUY_EXACT_SOL_IN_DISCRIMINATOR: ("BuyExactSolIn", True, 2, 3, 4, 6),
    pf.SELL_DISCRIMINATOR: ("Sell", False, 2, 3, 4, 6),
    pf.BUY_V2_DISCRIMINATOR: ("BuyV2", True, 1, 10, 11, 13),
    pf.SELL_V2_DISCRIMINATOR: ("SellV2", False, 1, 10, 11, 13),
}


class InstructionDecodeError(DecodeError):
    """An instruction of a program we decode whose accounts or data do not fit its layout."""


@dataclass(frozen=True, slots=True)
class CurveGenesis:
    """The reserves a new curve opens with (pump ``Global.initial_*``, ``token_total_supply``)."""

    virtual_token_reserves: int
    virtual_sol_reserves: int
    real_token_reserves: int
    token_total_supply: int

    @classmethod
    def from_global(cls, state: pf.Global) -> CurveGenesis:
        return cls(
            state.initial_virtual_token_reserves,
            state.initial_virtual_sol_reserves,
            state.initial_real_token_reserves,
            state.token_total_supply,
        )

    def after_buying(self, tokens: int) -> tuple[int, int]:
        """``(virtual_sol, virtual_token)`` after ``tokens`` left a fresh curve: the program's
        buy pays ``ceil(tokens * vs / (vt - tokens))`` into the virtual SOL reserve."""
        vt, vs = self.virtual_token_reserves, self.virtual_sol_reserves
        if tokens <= 0:
            return vs, vt
        if tokens >= vt:
            raise InstructionDecodeError(f"{tokens} tokens bought from a curve of {vt}")
        return vs + -(-tokens * vs // (vt - tokens)), vt - tokens


# Mainnet's Global (and localnet's): 1,073,000,000 / 30 SOL virtual, 793,100,000 real, 1 B supply
MAINNET_GENESIS: Final = CurveGenesis(
    1_073_000_000_000_000, 30_000_000_000, 793_100_000_000_000, 1_000_000_000_000_000
)


@dataclass(frozen=True, slots=True)
class Ix:
    """One executed instruction, accounts resolved to keys. ``outer``: the top-level
    instruction it belongs to; ``inner``: whether it ran as a CPI."""

    program: Pubkey
    accounts: tuple[Pubkey, ...]
    data: bytes
    outer: int
    inner: bool = False


@dataclass(frozen=True, slots=True)
class PumpCreate:
    instruction: str  # "Create" | "CreateV2", as the logs would name it
    event: CreateEvent  # synthesized from the instruction; reserves from the genesis
    associated_bonding_curve: Pubkey


@dataclass(frozen=True, slots=True)
class PumpTrade:
    instruction: str
    is_buy: bool
    mint: Pubkey
    bonding_curve: Pubkey
    associated_bonding_curve: Pubkey
    user: Pubkey
    amount: int  # the first u64 argument (tokens, or SOL for buy_exact_sol_in)
    limit: int  # the second (max SOL cost, min tokens out, min SOL output)


@dataclass(frozen=True, slots=True)
class PoolCreate:
    source: LaunchSource
    mint: Pubkey
    pool: Pubkey
    creator: Pubkey | None
    instruction: str


@dataclass(slots=True)
class TxFacts:
    creates: list[PumpCreate] = field(default_factory=list)
    trades: list[PumpTrade] = field(default_factory=list)
    pools: list[PoolCreate] = field(default_factory=list)
    events: list[LoggedEvent] = field(default_factory=list)  # from event CPIs, in order
    last_instruction: str | None = None  # the pump instruction decoded last (events' owner)


RawIx = tuple[int, bytes, bytes]  # (program_id_index, account indexes, data)


def flatten(
    keys: Sequence[bytes],
    loaded_writable: Sequence[bytes],
    loaded_readonly: Sequence[bytes],
    outer: Sequence[RawIx],
    inner: Sequence[tuple[int, Sequence[RawIx]]],
) -> list[Ix]:
    """Every instruction in execution order (each top-level one, then its CPIs), account
    indexes resolved against ``keys`` + the lookup tables' writable then readonly addresses."""
    try:
        table = [Pubkey.from_bytes(bytes(k)) for k in (*keys, *loaded_writable, *loaded_readonly)]
    except ValueError as exc:
        raise InstructionDecodeError(f"an account key is not 32 bytes: {exc}") from exc
    by_outer: dict[int, Sequence[RawIx]] = {}
    for index, group in inner:
        by_outer.setdefault(index, group)
    out: list[Ix] = []
    for position, raw in enumerate(outer):
        out.append(_resolve(table, raw, position, False))
        for cpi in by_outer.get(position, ()):
            out.append(_resolve(table, cpi, position, True))
    return out


def _resolve(table: list[Pubkey], raw: RawIx, outer: int, inner: bool) -> Ix:
    program_index, accounts, data = raw
    size = len(table)
    if program_index >= size or any(a >= size for a in accounts):
        raise InstructionDecodeError(
            f"instruction {outer} refers to account index {max([program_index, *accounts])} "
            f"of {size} keys"
        )
    return Ix(table[program_index], tuple(table[a] for a in accounts), bytes(data), outer, inner)


def decode_instructions(ixs: Sequence[Ix], genesis: CurveGenesis = MAINNET_GENESIS) -> TxFacts:
    """The launches, trades, pools and event CPIs in these instructions, in order."""
    facts = TxFacts()
    for ix in ixs:
        program = ix.program
        if program == PUMP_PROGRAM_ID:
            _pump(ix, genesis, facts)
        elif program == PUMP_AMM_PROGRAM_ID:
            if ix.data[:8] == _CREATE_POOL:
                base, quote = _at(ix, 3, "create_pool"), _at(ix, 4, "create_pool")
                mint = _sol_pair(base, quote)
                if mint is not None:
                    pool = _at(ix, 0, "create_pool")
                    creator = _at(ix, 2, "create_pool")
                    _add_pool(facts, PoolCreate("pumpswap", mint, pool, creator, "CreatePool"),
                              untold_creator=_coin_creator(ix.data))  # fmt: skip
        elif program == RAYDIUM_V4_PROGRAM_ID:
            if ix.data[:1] == bytes([_RAYDIUM_V4_INITIALIZE2]) and len(ix.data) >= 26:
                coin, pc = _at(ix, 8, "initialize2"), _at(ix, 9, "initialize2")
                mint = _sol_pair(coin, pc)
                if mint is not None:
                    owner = ix.accounts[17] if len(ix.accounts) > 17 else None
                    pool = _at(ix, 4, "initialize2")
                    _add_pool(facts, PoolCreate("raydium_v4", mint, pool, owner,
                                                "Initialize2"))  # fmt: skip
        elif program == RAYDIUM_CPMM_PROGRAM_ID and ix.data[:8] == _CPMM_INITIALIZE:
            token0, token1 = _at(ix, 4, "initialize"), _at(ix, 5, "initialize")
            mint = _sol_pair(token0, token1)
            if mint is not None:
                pool, creator = _at(ix, 3, "initialize"), _at(ix, 0, "initialize")
                _add_pool(facts, PoolCreate("raydium_cpmm", mint, pool, creator, "Initialize"))
    return facts


def _pump(ix: Ix, genesis: CurveGenesis, facts: TxFacts) -> None:
    data = ix.data
    head = data[:8]
    if head == EVENT_IX_TAG:
        if not ix.inner or not ix.accounts or ix.accounts[0] != pf.EVENT_AUTHORITY:
            return  # only the program's own CPI signed by its event authority is an event
        try:
            event = decode_pump_event(data[8:])
        except EventLayoutError as exc:
            raise InstructionDecodeError(f"pump.fun event CPI: {exc}") from exc
        if event is not None:
            facts.events.append(LoggedEvent(facts.last_instruction, event))
    elif head in (_CREATE, _CREATE_V2):
        create = _create(ix, v2=head == _CREATE_V2, genesis=genesis)
        facts.creates.append(create)
        facts.last_instruction = create.instruction
    elif head in _TRADES:
        name, is_buy, m, c, a, u = _TRADES[head]
        reader = _args(data, name)
        amount, limit = reader.u64(), reader.u64()
        facts.last_instruction = name
        facts.trades.append(PumpTrade(
            name, is_buy, _at(ix, m, name), _at(ix, c, name), _at(ix, a, name), _at(ix, u, name),
            amount, limit,
        ))  # fmt: skip
    elif head in (_MIGRATE, _MIGRATE_V2):
        v2 = head == _MIGRATE_V2
        name = "MigrateV2" if v2 else "Migrate"
        mint = _at(ix, 2, name)
        quote = _at(ix, 3, name) if v2 else _WSOL
        if _sol_pair(mint, quote) is not None:
            pool = _at(ix, 10 if v2 else 9, name)
            _add_pool(facts, PoolCreate("pumpswap", mint, pool, None, name))


def _add_pool(facts: TxFacts, pool: PoolCreate, untold_creator: Pubkey | None = None) -> None:
    """Record ``pool`` unless the transaction already told it (pump's ``migrate`` and the PumpSwap
    ``create_pool`` it CPIs name the same pool: the outer instruction's word is kept, its missing
    creator filled from ``untold_creator``, the CPI's ``coin_creator``)."""
    for i, known in enumerate(facts.pools):
        if known.pool == pool.pool:
            if known.creator is None and untold_creator is not None:
                facts.pools[i] = replace(known, creator=untold_creator)
            return
    facts.pools.append(pool)


def _coin_creator(data: bytes) -> Pubkey | None:
    """PumpSwap ``create_pool``'s ``coin_creator`` argument (after ``index: u16``,
    ``base_amount_in: u64``, ``quote_amount_in: u64``); ``None`` when absent (an older, shorter
    instruction) or the default key (no coin creator)."""
    raw = data[26:58]
    if len(raw) != 32:
        return None
    key = Pubkey.from_bytes(raw)
    return None if key == _ZERO else key


def _create(ix: Ix, *, v2: bool, genesis: CurveGenesis) -> PumpCreate:
    name_ = "CreateV2" if v2 else "Create"
    reader = _args(ix.data, name_)
    name, symbol, uri = _string(reader, name_), _string(reader, name_), _string(reader, name_)
    creator = reader.pubkey()
    mayhem = cashback = holder = False
    if v2:
        mayhem = _bool(reader, name_)
        cashback = _bool(reader, name_)
        reader.u64()  # creator_fee_bps: a SOL-quoted curve ignores it (the event says 0)
        holder = _bool(reader, name_)
    mint, curve, curve_ata = _at(ix, 0, name_), _at(ix, 2, name_), _at(ix, 3, name_)
    user = _at(ix, 5 if v2 else 7, name_)
    token_program = _at(ix, 7 if v2 else 9, name_)
    if token_program not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
        raise InstructionDecodeError(f"{name_} of {mint} names token program {token_program}")
    if holder:
        creator = Pubkey.find_program_address([b"holder-rewards", bytes(mint)], PUMP_PROGRAM_ID)[0]
    event = CreateEvent(
        name=name, symbol=symbol, uri=uri, mint=mint, bonding_curve=curve, user=user,
        creator=creator, timestamp=None,
        virtual_token_reserves=genesis.virtual_token_reserves,
        virtual_sol_reserves=genesis.virtual_sol_reserves,
        real_token_reserves=genesis.real_token_reserves,
        token_total_supply=genesis.token_total_supply, token_program=token_program,
        is_mayhem_mode=mayhem, is_cashback_enabled=cashback, quote_mint=_ZERO,
        virtual_quote_reserves=genesis.virtual_sol_reserves,
        creator_fee_bps=0,
        is_holder_reward=holder,
    )  # fmt: skip
    return PumpCreate(name_, event, curve_ata)


def _args(data: bytes, name: str) -> BorshReader:
    return BorshReader(
        data, 8, error=InstructionDecodeError, short=f"{name} data ends at {{have}}, "
        "field needs {need}",
    )  # fmt: skip


def _string(reader: BorshReader, name: str) -> str:
    length = reader.u32()
    if length > _MAX_STRING:
        raise InstructionDecodeError(f"{name}: string of {length} bytes")
    try:
        return reader.take(length).decode()
    except UnicodeDecodeError as exc:
        raise InstructionDecodeError(f"{name}: string is not UTF-8: {exc}") from exc


def _bool(reader: BorshReader, name: str) -> bool:
    byte = reader.u8()
    if byte > 1:
        raise InstructionDecodeError(f"{name}: invalid bool byte {byte}")
    return byte == 1


def _at(ix: Ix, index: int, name: str) -> Pubkey:
    if index >= len(ix.accounts):
        raise InstructionDecodeError(
            f"{name} of {ix.program} has {len(ix.accounts)} accounts, needs index {index}"
        )
    return ix.accounts[index]


def _sol_pair(a: Pubkey, b: Pubkey) -> Pubkey | None:
    """The non-WSOL mint of a SOL pair; ``None`` for any other pair."""
    if b == _WSOL and a != _WSOL:
        return a
    if a == _WSOL and b != _WSOL:
        return b
    return None


def curve_trade(
    mint: Pubkey, user: Pubkey, curve_tokens_after: int, genesis: CurveGenesis
) -> TradeEvent | None:
    """The dev buy of a create's own transaction from the curve's token balance after it, as a
    ``TradeEvent`` (for when no event says it): the tokens that left the fresh curve were
    bought, and the virtual SOL reserve grew as the program's buys grow it. ``None`` when
    nothing was bought. Only for the create's transaction (nothing was sold back yet)."""
    # the create mints the whole supply to the curve; the real (sellable) reserves are a part
    bought = genesis.token_total_supply - curve_tokens_after
    if not 0 <= bought <= genesis.real_token_reserves:
        raise InstructionDecodeError(
            f"the curve of {mint} holds {curve_tokens_after} tokens after its create; expected "
            f"{genesis.token_total_supply} less at most {genesis.real_token_reserves} bought"
        )
    if bought == 0:
        return None
    vs, vt = genesis.after_buying(bought)
    paid = vs - genesis.virtual_sol_reserves
    return TradeEvent(
        mint=mint, sol_amount=paid, token_amount=bought, is_buy=True, user=user, timestamp=0,
        virtual_sol_reserves=vs, virtual_token_reserves=vt, real_sol_reserves=paid,
        real_token_reserves=genesis.real_token_reserves - bought,
    )  # fmt: skip
