"""Constant-product pools held by a market-maker, and the swaps Jupiter would build for them.

Each pool is a keypair the maker holds: its SOL reserve is the lamports of that system account
(above the rent-exempt minimum), its token reserve is that key's associated token account. A swap
is one v0 transaction: compute budget, idempotent ATA creation, a Jupiter-program route
instruction, the SOL leg and the token leg; the pool key co-signs so that the user's signature
completes it and LiteSVM executes it atomically.

The Jupiter program (`JUP6...`) cannot run here, so the market installs the Memo v2 program's
bytecode at that address: the route instruction really executes (`Program JUP6... invoke [1]`) and
its data names the pool, side, amount and `otherAmountThreshold`. `slippage_guard` reads it before
execution and fails the transaction with Custom(6001) on that instruction when the pool has moved
past the threshold, which is where mainnet's Jupiter fails.

Jupiter's route instruction carries `inAmount`, `quotedOutAmount`, `slippageBps` and
`platformFeeBps`, and the program derives the minimum out on chain; the memo here carries the
same facts (the threshold derived from the quoted out and the slippage, never the client's
`otherAmountThreshold`, which Jupiter's `/swap` does not use either). A platform fee is taken from
the output (ExactIn): the pool sends `floor(pool_out * feeBps / 10_000)` of the output to the fee
account (tokens by TransferChecked; SOL into a wrapped-SOL token account, then SyncNative). A
Jito tip is a System transfer from the user (or the given payer) to one of Jito's tip accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import count
from typing import cast

import structlog
from solders.account import Account
from solders.compute_budget import ID as COMPUTE_BUDGET_ID
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.null_signer import NullSigner
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction

from localnet.cluster import GuardFailure
from localnet.market import instructions as ix
from localnet.market.keys import derive_keypair
from localnet.market.ports import ClusterPort, OutcomeLike
from localnet.market.pricing import (
    NO_FEE,
    Side,
    SwapMath,
    TransferFee,
    min_out,
    platform_fee,
    swap_exact_in,
)

log = structlog.get_logger(__name__)

JUPITER_PROGRAM_ID = Pubkey.from_string("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")
SLIPPAGE_TOLERANCE_EXCEEDED = 6001
_ROUTE_PREFIX = "route:"
DEFAULT_COMPUTE_UNIT_LIMIT = 1_400_000
PACKET_DATA_SIZE = 1_232  # the largest serialized transaction a validator accepts
_SYNC_NATIVE = 17


class MarketError(Exception):
    """A routing failure with Jupiter's errorCode (e.g. COULD_NOT_FIND_ANY_ROUTE)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Pool:
    key: Pubkey  # the pool account (ammKey); holds the SOL reserve
    mint: Pubkey
    token_program: Pubkey
    decimals: int
    token_account: Pubkey  # the pool key's ATA: the token reserve
    created_slot: int
    fee_bps: int = 25
    transfer_fee: TransferFee = NO_FEE
    hook_accounts: tuple[Pubkey, ...] = ()  # transfer-hook validation PDA + hook program
    label: str = "Raydium"


@dataclass(frozen=True, slots=True)
class Quote:
    pool: Pool
    side: Side
    input_mint: Pubkey
    output_mint: Pubkey
    math: SwapMath
    other_amount_threshold: int
    slippage_bps: int
    context_slot: int
    platform_fee_bps: int = 0

    @property
    def platform_fee(self) -> int:
        """The platform fee in the output token (taken from what leaves the pool)."""
        return platform_fee(self.math.pool_out, self.platform_fee_bps)

    @property
    def out_amount(self) -> int:
        """What the user receives: the route's out less the platform fee (Jupiter's outAmount)."""
        if self.platform_fee_bps == 0:
            return self.math.out_amount
        sent = self.math.pool_out - self.platform_fee
        if self.side == "buy":
            return sent - self.pool.transfer_fee.of(sent)
        return sent


@dataclass(frozen=True, slots=True)
class Tip:
    """A Jito tip: `lamports` from `payer` to `account` (one of Jito's tip accounts)."""

    payer: Pubkey
    account: Pubkey
    lamports: int


@dataclass(frozen=True, slots=True)
class SwapPlan:
    """The instructions of a swap, grouped the way /swap-instructions reports them."""

    compute_budget: list[Instruction]
    setup: list[Instruction]
    route: Instruction
    legs: list[Instruction]
    compute_unit_limit: int
    prioritization_fee_lamports: int
    micro_lamports: int


@dataclass
class Market:
    cluster: ClusterPort
    seed: int = 0
    route_delay_slots: int = 0
    sol_usd: Decimal = Decimal(150)  # the Price API's SOL/USD rate (set it to what you need)
    pools: dict[Pubkey, Pool] = field(default_factory=dict)  # by mint
    _by_key: dict[Pubkey, Pool] = field(default_factory=dict)
    _nonce: count[int] = field(default_factory=count)
    _buyers: dict[Pubkey, dict[Pubkey, None]] = field(default_factory=dict)
    started_slot: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.started_slot = self.cluster.slot
        self.maker = derive_keypair(self.seed, "market-maker")
        self.cluster.airdrop(self.maker.pubkey(), 100_000_000_000)
        if self.cluster.get_account(JUPITER_PROGRAM_ID) is None:
            memo = self.cluster.get_account(ix.MEMO_PROGRAM_ID)
            if memo is None:
                raise RuntimeError("the cluster has no Memo v2 program to stand in for Jupiter")
            self.cluster.set_account(
                JUPITER_PROGRAM_ID, Account(memo.lamports, memo.data, memo.owner, True, 0)
            )
        self.cluster.add_transaction_guard(self.slippage_guard)

    # ---- pools -------------------------------------------------------------------------------
    def open_pool(
        self,
        *,
        mint: Pubkey,
        token_program: Pubkey,
        decimals: int,
        sol_lamports: int,
        fee_bps: int = 25,
        transfer_fee: TransferFee = NO_FEE,
        hook_accounts: Sequence[Pubkey] = (),
        label: str = "Raydium",
    ) -> Pool:
        """Create the pool account and its (empty) token reserve; the caller adds the tokens."""
        pool_kp = self._pool_keypair(mint)
        rent = self.cluster.svm.minimum_balance_for_rent_exemption(0)
        self.cluster.airdrop(pool_kp.pubkey(), rent + sol_lamports)
        create = ix.create_associated_token_account_idempotent(
            self.maker.pubkey(), pool_kp.pubkey(), mint, token_program
        )
        self.send([create], [self.maker])
        pool = Pool(
            key=pool_kp.pubkey(),
            mint=mint,
            token_program=token_program,
            decimals=decimals,
            token_account=ix.associated_token_address(pool_kp.pubkey(), mint, token_program),
            created_slot=self.cluster.slot,
            fee_bps=fee_bps,
            transfer_fee=transfer_fee,
            hook_accounts=tuple(hook_accounts),
            label=label,
        )
        self.pools[mint] = pool
        self._by_key[pool.key] = pool
        log.info("market.pool_opened", mint=str(mint), pool=str(pool.key), sol=sol_lamports)
        return pool

    def close_pool(self, mint: Pubkey) -> Pool | None:
        """Forget the pool of `mint` (quotes then say TOKEN_NOT_TRADABLE); its accounts stay
        until the caller closes them. None when there was no pool."""
        pool = self.pools.pop(mint, None)
        if pool is not None:
            self._by_key.pop(pool.key, None)
        self._buyers.pop(mint, None)
        return pool

    def pool_by_key(self, key: Pubkey) -> Pool | None:
        return self._by_key.get(key)

    def reserves(self, pool: Pool) -> tuple[int, int]:
        """(SOL lamports above rent, token base units) read from the chain."""
        sol_acc = self.cluster.get_account(pool.key)
        rent = self.cluster.svm.minimum_balance_for_rent_exemption(0)
        sol = max(0, (sol_acc.lamports if sol_acc else 0) - rent)
        tok_acc = self.cluster.get_account(pool.token_account)
        tokens = TokenAccount.from_bytes(bytes(tok_acc.data[:165])).amount if tok_acc else 0
        return sol, tokens

    def drain(self, pool: Pool, to: Pubkey) -> OutcomeLike:
        """Pull the SOL liquidity out (a rug): a real transfer signed by the pool key."""
        sol, _ = self.reserves(pool)
        leg = transfer(TransferParams(from_pubkey=pool.key, to_pubkey=to, lamports=sol))
        return self.send([leg], [self._pool_keypair(pool.mint)], payer=self.maker)

    # ---- quotes and swaps --------------------------------------------------------------------
    def quote(
        self,
        input_mint: Pubkey,
        output_mint: Pubkey,
        amount: int,
        slippage_bps: int,
        *,
        platform_fee_bps: int = 0,
        dex_allowed: Callable[[str], bool] | None = None,
    ) -> Quote:
        if input_mint == output_mint:
            raise MarketError("CIRCULAR_ARBITRAGE_IS_DISABLED", "Circular arbitrage is disabled")
        if input_mint == ix.WSOL_MINT:
            side: Side = "buy"
            mint = output_mint
        elif output_mint == ix.WSOL_MINT:
            side, mint = "sell", input_mint
        else:
            raise MarketError("COULD_NOT_FIND_ANY_ROUTE", "Could not find any route")
        pool = self.pools.get(mint)
        if pool is None:
            raise MarketError("TOKEN_NOT_TRADABLE", f"The token {mint} is not tradable")
        if self.cluster.slot < pool.created_slot + self.route_delay_slots:
            raise MarketError("COULD_NOT_FIND_ANY_ROUTE", "Could not find any route")
        if dex_allowed is not None and not dex_allowed(pool.label):
            raise MarketError("COULD_NOT_FIND_ANY_ROUTE", "Could not find any route")
        sol, tokens = self.reserves(pool)
        math = swap_exact_in(
            side=side,
            amount_in=amount,
            sol_reserve=sol,
            token_reserve=tokens,
            pool_fee_bps=pool.fee_bps,
            transfer_fee=pool.transfer_fee,
        )
        if math.pool_out <= 0:
            raise MarketError("COULD_NOT_FIND_ANY_ROUTE", "Could not find any route")
        quote = Quote(
            pool=pool,
            side=side,
            input_mint=input_mint,
            output_mint=output_mint,
            math=math,
            other_amount_threshold=0,
            slippage_bps=slippage_bps,
            context_slot=self.cluster.slot,
            platform_fee_bps=platform_fee_bps,
        )
        return replace(quote, other_amount_threshold=min_out(quote.out_amount, slippage_bps))

    def plan_swap(
        self,
        quote: Quote,
        user: Pubkey,
        *,
        compute_unit_limit: int = DEFAULT_COMPUTE_UNIT_LIMIT,
        micro_lamports: int = 0,
        fee_account: Pubkey | None = None,
        tip: Tip | None = None,
        record: bool = True,
    ) -> SwapPlan:
        """The swap's instructions. A quote with a platform fee needs `fee_account` (a token
        account of the output mint; wrapped SOL when the output is SOL)."""
        pool = quote.pool
        if quote.platform_fee_bps > 0 and fee_account is None:
            raise ValueError("a platform fee needs a fee account")
        budget = [set_compute_unit_limit(compute_unit_limit)]
        if micro_lamports > 0:
            budget.append(set_compute_unit_price(micro_lamports))
        user_ata = ix.associated_token_address(user, pool.mint, pool.token_program)
        setup = [
            ix.create_associated_token_account_idempotent(user, user, pool.mint, pool.token_program)
        ]
        if quote.side == "buy" and record:
            self._note_buyer(pool.mint, user)
        nonce = next(self._nonce)
        memo = (
            f"{_ROUTE_PREFIX}{pool.key}:{quote.side}:{quote.math.in_amount}:"
            f"{quote.other_amount_threshold}:{quote.platform_fee_bps}:{nonce}"
        )
        route = Instruction(
            JUPITER_PROGRAM_ID,
            memo.encode(),
            [AccountMeta(user, True, True), AccountMeta(pool.key, True, True)],
        )
        extra = [AccountMeta(k, False, False) for k in pool.hook_accounts]
        math = quote.math
        fee = quote.platform_fee
        if quote.side == "buy":
            legs = [
                transfer(
                    TransferParams(from_pubkey=user, to_pubkey=pool.key, lamports=math.pool_in)
                ),
                ix.transfer_checked(
                    pool.token_program,
                    pool.token_account,
                    pool.mint,
                    user_ata,
                    pool.key,
                    math.pool_out - fee,
                    pool.decimals,
                    extra,
                ),
            ]
            if fee > 0 and fee_account is not None:
                legs.append(
                    ix.transfer_checked(
                        pool.token_program,
                        pool.token_account,
                        pool.mint,
                        fee_account,
                        pool.key,
                        fee,
                        pool.decimals,
                        extra,
                    )
                )
        else:
            legs = [
                ix.transfer_checked(
                    pool.token_program,
                    user_ata,
                    pool.mint,
                    pool.token_account,
                    user,
                    math.in_amount,
                    pool.decimals,
                    extra,
                ),
                transfer(
                    TransferParams(
                        from_pubkey=pool.key, to_pubkey=user, lamports=math.pool_out - fee
                    )
                ),
            ]
            if fee > 0 and fee_account is not None:
                legs += [
                    transfer(
                        TransferParams(from_pubkey=pool.key, to_pubkey=fee_account, lamports=fee)
                    ),
                    Instruction(
                        ix.TOKEN_PROGRAM_ID,
                        bytes([_SYNC_NATIVE]),
                        [AccountMeta(fee_account, False, True)],
                    ),
                ]
        if tip is not None:
            legs.append(
                transfer(
                    TransferParams(
                        from_pubkey=tip.payer, to_pubkey=tip.account, lamports=tip.lamports
                    )
                )
            )
        cu_fee = -(-micro_lamports * compute_unit_limit // 1_000_000)
        return SwapPlan(budget, setup, route, legs, compute_unit_limit, cu_fee, micro_lamports)

    def build_swap(
        self, plan: SwapPlan, user: Pubkey, pool: Pool, *, legacy: bool = False
    ) -> VersionedTransaction:
        """The unsigned-by-user transaction (v0, or legacy when asked), already co-signed by the
        pool key. Raises MarketError when it does not fit in a packet (1,232 bytes): no lookup
        tables here, so a route with many accounts cannot be sent at all."""
        ixs = [*plan.compute_budget, *plan.setup, plan.route, *plan.legs]
        blockhash = self.cluster.latest_blockhash()
        msg: Message | MessageV0 = (
            Message.new_with_blockhash(ixs, user, blockhash)
            if legacy
            else MessageV0.try_compile(user, ixs, [], blockhash)
        )
        pool_key = self._pool_keypair(pool.mint)
        keys = list(msg.account_keys)[: msg.header.num_required_signatures]
        signers: list[Keypair | NullSigner] = [
            pool_key if key == pool_key.pubkey() else NullSigner(key) for key in keys
        ]
        tx = VersionedTransaction(msg, signers)
        size = len(bytes(tx))
        if size > PACKET_DATA_SIZE:
            kind = "legacy" if legacy else "versioned"
            raise MarketError(
                "FAILED_TO_GET_SWAP_AND_ACCOUNT_METAS",
                f"The {kind} transaction is {size} bytes, over the {PACKET_DATA_SIZE}-byte "
                "limit; the route cannot fit",
            )
        return tx

    def trade(self, mint: Pubkey, trader: Keypair, side: Side, amount: int) -> OutcomeLike:
        """Another trader's swap through the same path the API serves (quote, build, sign)."""
        sol_in = side == "buy"
        quote = self.quote(
            ix.WSOL_MINT if sol_in else mint, mint if sol_in else ix.WSOL_MINT, amount, 300
        )
        plan = self.plan_swap(quote, trader.pubkey())
        tx = self.build_swap(plan, trader.pubkey(), quote.pool)
        return self.cluster.send_transaction(sign_as_user(tx, trader))

    def slippage_guard(self, tx: VersionedTransaction) -> GuardFailure | None:
        """Fail a swap whose route threshold the current reserves can no longer meet."""
        msg = tx.message
        keys = list(msg.account_keys)
        for index, cix in enumerate(msg.instructions):
            if keys[cix.program_id_index] != JUPITER_PROGRAM_ID:
                continue
            parsed = _parse_route(bytes(cix.data))
            if parsed is None:
                return None
            pool_key, side, amount_in, threshold, fee_bps = parsed
            pool = self._by_key.get(pool_key)
            if pool is None:
                return None
            sol, tokens = self.reserves(pool)
            math = swap_exact_in(
                side=side,
                amount_in=amount_in,
                sol_reserve=sol,
                token_reserve=tokens,
                pool_fee_bps=pool.fee_bps,
                transfer_fee=pool.transfer_fee,
            )
            out = Quote(pool, side, pool.mint, pool.mint, math, 0, 0, 0, fee_bps).out_amount
            if out >= threshold:
                return None
            log.info(
                "market.slippage_exceeded",
                pool=str(pool_key),
                expected=out,
                threshold=threshold,
            )
            programs = [keys[c.program_id_index] for c in msg.instructions[:index]]
            return GuardFailure(index, SLIPPAGE_TOLERANCE_EXCEEDED, _slippage_logs(programs))
        return None

    def buyers(self, mint: Pubkey) -> list[Pubkey]:
        """Wallets a buy was built for (most recent last; at most 1,000 per mint)."""
        return list(self._buyers.get(mint, {}))

    def _note_buyer(self, mint: Pubkey, user: Pubkey) -> None:
        seen = self._buyers.setdefault(mint, {})
        seen.pop(user, None)
        seen[user] = None
        if len(seen) > 1_000:
            del seen[next(iter(seen))]

    # ---- helpers -----------------------------------------------------------------------------
    def send(
        self, ixs: list[Instruction], signers: list[Keypair], *, payer: Keypair | None = None
    ) -> OutcomeLike:
        """Send a setup transaction and raise if it fails (setup must never fail silently)."""
        payer = payer or signers[0]
        all_signers = [payer, *[s for s in signers if s.pubkey() != payer.pubkey()]]
        msg = MessageV0.try_compile(payer.pubkey(), ixs, [], self.cluster.latest_blockhash())
        outcome = self.cluster.send_transaction(VersionedTransaction(msg, all_signers))
        if outcome.err is not None:
            raise RuntimeError(f"localnet setup transaction failed: {outcome.err} {outcome.logs}")
        return outcome

    def _pool_keypair(self, mint: Pubkey) -> Keypair:
        return derive_keypair(self.seed, f"pool:{mint}")


def sign_as_user(tx: VersionedTransaction, user: Keypair) -> VersionedTransaction:
    """Fill the user's (first) signature slot of a co-signed transaction, as a wallet would."""
    from solders.message import to_bytes_versioned

    sigs = list(tx.signatures)
    sigs[0] = user.sign_message(to_bytes_versioned(tx.message))
    return VersionedTransaction.populate(tx.message, sigs)


def _parse_route(data: bytes) -> tuple[Pubkey, Side, int, int, int] | None:
    try:
        text = data.decode()
        if not text.startswith(_ROUTE_PREFIX):
            return None
        pool, side, amount, threshold, fee_bps, _nonce = text[len(_ROUTE_PREFIX) :].split(":")
        if side not in ("buy", "sell"):
            return None
        key = Pubkey.from_string(pool)
        return key, cast(Side, side), int(amount), int(threshold), int(fee_bps)
    except ValueError:
        return None


def _slippage_logs(programs_before: list[Pubkey]) -> tuple[str, ...]:
    logs: list[str] = []
    for program in programs_before:
        logs += [f"Program {program} invoke [1]", f"Program {program} success"]
    jup = str(JUPITER_PROGRAM_ID)
    return (
        *logs,
        f"Program {jup} invoke [1]",
        "Program log: Instruction: Route",
        "Program log: AnchorError occurred. Error Code: SlippageToleranceExceeded. "
        "Error Number: 6001. Error Message: Slippage tolerance exceeded.",
        f"Program {jup} consumed 31337 of 1399700 compute units",
        f"Program {jup} failed: custom program error: 0x1771",
    )


__all__ = [
    "COMPUTE_BUDGET_ID",
    "JUPITER_PROGRAM_ID",
    "Market",
    "MarketError",
    "Pool",
    "Quote",
    "SwapPlan",
    "Tip",
    "sign_as_user",
]
