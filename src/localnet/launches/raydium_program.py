"""Raydium AMM v4 `initialize2`, hosted like pump.fun (`localnet.pump.hosted`): a real, signed
transaction whose instruction runs in Python and moves every token and lamport through the real
System / SPL Token / ATA programs.

What the handler does, in the program's order (raydium-amm `processor.rs`, PROTOCOLS 3.1, the
legacy 21-account form): log `initialize2: InitializeInstruction2 { .. }` (before any check, as
mainnet does), check the pool's addresses (`amm`, `coin_vault`, `pc_vault`, `lp_mint`,
`target_orders`, `open_orders` are PDAs of `[program, market, seed]`, the authority is
`["amm authority"]`), create the `AmmInfo` account (752 bytes, owned by the program), the LP mint
(the coin's decimals, the authority mints) and both vaults (token accounts owned by the authority),
move `init_coin_amount` / `init_pc_amount` from the user's token accounts into the vaults, mint
`isqrt(pc * coin) - 10^decimals` LP to the user's LP ATA (created if missing) and log
`ray_log: <InitLog>` with the vaults' balances. `AmmInfo.status` is SwapOnly (6), or WaitingTrade
(7) while `open_time` is in the future; `lp_reserve` is the whole `isqrt(pc * coin)`.

Differences from mainnet: no create-pool fee is charged and `open_orders` / `target_orders` are
only checked, not created (the OpenBook accounts mainnet pools carry); a Token-2022 coin is taken
(its token program follows as a 22nd account) where mainnet's program only knows SPL Token; the
custom error codes (0 AlreadyInUse, 1 InvalidProgramAddress) follow raydium-amm `error.rs` as
localnet models it.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

from localnet.encoding import mint_fields, token_account_fields
from localnet.execution import TransactionExecution
from localnet.launches.raydium import (
    AMM_INFO_LEN,
    OPENBOOK_PROGRAM,
    RAYDIUM_AMM_V4,
    STATUS_SWAP_ONLY,
    STATUS_WAITING_TRADE,
    AmmInfo,
    encode_amm_info,
    encode_init_ray_log,
)
from localnet.market import instructions as tix
from localnet.pump.hosted import HostedProgram, HostedPrograms, Invocation, ProgramError
from localnet.pumpswap.state import native_mint_data

__all__ = [
    "AMM_AUTHORITY",
    "AMM_CONFIG",
    "CREATE_POOL_FEE_DESTINATION",
    "PoolAddresses",
    "initialize2_instruction",
    "install",
    "pool_addresses",
]

AMM_AUTHORITY, AUTHORITY_NONCE = Pubkey.find_program_address([b"amm authority"], RAYDIUM_AMM_V4)
AMM_CONFIG = Pubkey.find_program_address([b"amm_config_account_seed"], RAYDIUM_AMM_V4)[0]
CREATE_POOL_FEE_DESTINATION = Pubkey.from_string("7YttLkHDoNj9wyDur5pM1ejNaAvT9X4eqaYcHQqtj2G5")
RENT_SYSVAR = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
INITIALIZE2 = 1
ALREADY_IN_USE = {"Custom": 0}
INVALID_PROGRAM_ADDRESS = {"Custom": 1}
ACCOUNTS = 21
MINT_LEN = 82
TOKEN_ACCOUNT_LEN = 165
INITIALIZE2_UNITS = 60_000


@dataclass(frozen=True, slots=True)
class PoolAddresses:
    """The PDAs of a pool on `market` (raydium-amm `get_associated_address_and_bump_seed`)."""

    amm: Pubkey
    coin_vault: Pubkey
    pc_vault: Pubkey
    lp_mint: Pubkey
    open_orders: Pubkey
    target_orders: Pubkey


def _associated(market: Pubkey, seed: bytes) -> Pubkey:
    return Pubkey.find_program_address([bytes(RAYDIUM_AMM_V4), bytes(market), seed],
                                       RAYDIUM_AMM_V4)[0]  # fmt: skip


def pool_addresses(market: Pubkey) -> PoolAddresses:
    return PoolAddresses(
        amm=_associated(market, b"amm_associated_seed"),
        coin_vault=_associated(market, b"coin_vault_associated_seed"),
        pc_vault=_associated(market, b"pc_vault_associated_seed"),
        lp_mint=_associated(market, b"lp_mint_associated_seed"),
        open_orders=_associated(market, b"open_order_associated_seed"),
        target_orders=_associated(market, b"target_associated_seed"),
    )


def initialize2_instruction(
    *,
    market: Pubkey,
    user: Pubkey,
    coin_mint: Pubkey,
    pc_mint: Pubkey,
    user_coin: Pubkey,
    user_pc: Pubkey,
    open_time: int,
    init_pc_amount: int,
    init_coin_amount: int,
    coin_program: Pubkey = tix.TOKEN_PROGRAM_ID,
) -> Instruction:
    """`Initialize2` in the legacy 21-account form (PROTOCOLS 3.1); a Token-2022 coin's program
    follows as account 21."""
    pool = pool_addresses(market)
    user_lp = tix.associated_token_address(user, pool.lp_mint, tix.TOKEN_PROGRAM_ID)
    data = struct.pack("<BBQQQ", INITIALIZE2, AUTHORITY_NONCE, open_time, init_pc_amount,
                       init_coin_amount)  # fmt: skip
    w, r = True, False
    metas = [
        AccountMeta(tix.TOKEN_PROGRAM_ID, False, r),
        AccountMeta(tix.ASSOCIATED_TOKEN_PROGRAM_ID, False, r),
        AccountMeta(tix.SYSTEM_PROGRAM_ID, False, r),
        AccountMeta(RENT_SYSVAR, False, r),
        AccountMeta(pool.amm, False, w),
        AccountMeta(AMM_AUTHORITY, False, r),
        AccountMeta(pool.open_orders, False, w),
        AccountMeta(pool.lp_mint, False, w),
        AccountMeta(coin_mint, False, r),
        AccountMeta(pc_mint, False, r),
        AccountMeta(pool.coin_vault, False, w),
        AccountMeta(pool.pc_vault, False, w),
        AccountMeta(pool.target_orders, False, w),
        AccountMeta(AMM_CONFIG, False, r),
        AccountMeta(CREATE_POOL_FEE_DESTINATION, False, w),
        AccountMeta(OPENBOOK_PROGRAM, False, r),
        AccountMeta(market, False, r),
        AccountMeta(user, True, w),
        AccountMeta(user_coin, False, w),
        AccountMeta(user_pc, False, w),
        AccountMeta(user_lp, False, w),
    ]
    if coin_program != tix.TOKEN_PROGRAM_ID:
        metas.append(AccountMeta(coin_program, False, r))
    return Instruction(RAYDIUM_AMM_V4, data, metas)


def _initialize_account3(
    program: Pubkey, account: Pubkey, mint: Pubkey, owner: Pubkey
) -> Instruction:
    metas = [AccountMeta(account, False, True), AccountMeta(mint, False, False)]
    return Instruction(program, bytes([18]) + bytes(owner), metas)


def _create(inv: Invocation, payer: Pubkey, new: Pubkey, size: int, owner: Pubkey) -> Instruction:
    params = CreateAccountParams(
        from_pubkey=payer, to_pubkey=new, lamports=inv.rent(size), space=size, owner=owner
    )
    return create_account(params)


def _vault_size(inv: Invocation, program: Pubkey, mint: Pubkey) -> int:
    """A token account's size for `mint` (its Token-2022 extensions included)."""
    if program == tix.TOKEN_PROGRAM_ID:
        return TOKEN_ACCOUNT_LEN
    account = inv.read(mint)
    data = bytes(account.data) if account is not None else b""
    # Token-2022: a mint with extensions needs the matching account extensions; the
    # ImmutableOwner-free minimum is what InitializeAccount3 accepts for a plain mint
    if len(data) <= MINT_LEN:
        return TOKEN_ACCOUNT_LEN
    extra = 0
    offset = 166  # TLV entries start after the 165-byte base and the account-type byte
    while offset + 4 <= len(data):
        ext_type, length = struct.unpack_from("<HH", data, offset)
        if ext_type == 0 and length == 0:
            break
        if ext_type == 1:  # TransferFeeConfig -> TransferFeeAmount (8 bytes)
            extra += 4 + 8
        elif ext_type == 9:  # NonTransferable -> NonTransferableAccount
            extra += 4
        elif ext_type == 14:  # TransferHook -> TransferHookAccount (1 byte)
            extra += 4 + 1
        elif ext_type == 26:  # Pausable -> PausableAccount
            extra += 4
        offset += 4 + length
    return TOKEN_ACCOUNT_LEN + 1 + extra if extra else TOKEN_ACCOUNT_LEN


def handle(inv: Invocation) -> None:
    data = inv.data
    if len(data) != 26 or data[0] != INITIALIZE2:  # tag + nonce u8 + 3 x u64
        raise ProgramError("InvalidInstructionData", inv.logs)
    nonce, open_time, init_pc, init_coin = struct.unpack_from("<BQQQ", data, 1)
    inv.log(
        f"Program log: initialize2: InitializeInstruction2 {{ nonce: {nonce}, open_time: "
        f"{open_time}, init_pc_amount: {init_pc}, init_coin_amount: {init_coin} }}"
    )
    if len(inv.accounts) < ACCOUNTS:
        raise ProgramError("NotEnoughAccountKeys", inv.logs)
    keys = [m.pubkey for m in inv.accounts]
    amm, authority, lp_mint, coin_mint, pc_mint = keys[4], keys[5], keys[7], keys[8], keys[9]
    coin_vault, pc_vault, market, user = keys[10], keys[11], keys[16], keys[17]
    user_coin, user_pc, user_lp = keys[18], keys[19], keys[20]
    if not inv.accounts[17].is_signer:
        raise ProgramError("MissingRequiredSignature", inv.logs)
    pool = pool_addresses(market)
    expected = (pool.amm, AMM_AUTHORITY, pool.open_orders, pool.lp_mint, pool.coin_vault,
                pool.pc_vault, pool.target_orders)  # fmt: skip
    given = (amm, authority, keys[6], lp_mint, coin_vault, pc_vault, keys[12])
    if expected != given or nonce != AUTHORITY_NONCE:
        inv.log("Program log: Error: InvalidProgramAddress")
        raise ProgramError(INVALID_PROGRAM_ADDRESS, inv.logs)
    if inv.read(amm) is not None:
        inv.log("Program log: Error: AlreadyInUse")
        raise ProgramError(ALREADY_IN_USE, inv.logs)
    coin_account, pc_account = inv.read(coin_mint), inv.read(pc_mint)
    if coin_account is None or pc_account is None:
        raise ProgramError("InvalidAccountData", inv.logs)
    coin_program, pc_program = coin_account.owner, pc_account.owner
    coin_decimals = mint_fields(bytes(coin_account.data))[1]
    pc_decimals = mint_fields(bytes(pc_account.data))[1]
    token = tix.TOKEN_PROGRAM_ID
    inv.invoke([
        _create(inv, user, amm, AMM_INFO_LEN, RAYDIUM_AMM_V4),
        _create(inv, user, lp_mint, MINT_LEN, token),
        tix.initialize_mint2(token, lp_mint, coin_decimals, authority, None),
        _create(inv, user, coin_vault, _vault_size(inv, coin_program, coin_mint), coin_program),
        _initialize_account3(coin_program, coin_vault, coin_mint, authority),
        _create(inv, user, pc_vault, _vault_size(inv, pc_program, pc_mint), pc_program),
        _initialize_account3(pc_program, pc_vault, pc_mint, authority),
        tix.transfer_checked(coin_program, user_coin, coin_mint, coin_vault, user, init_coin,
                             coin_decimals),
        tix.transfer_checked(pc_program, user_pc, pc_mint, pc_vault, user, init_pc, pc_decimals),
    ])  # fmt: skip
    coin_amount = _amount(inv.read(coin_vault))
    pc_amount = _amount(inv.read(pc_vault))
    liquidity = math.isqrt(pc_amount * coin_amount)
    user_lp_amount = liquidity - 10**coin_decimals
    if user_lp_amount <= 0:
        inv.log("Program log: Error: InitLpAmountTooLess")
        raise ProgramError({"Custom": 49}, inv.logs)
    inv.invoke([
        tix.create_associated_token_account_idempotent(user, user, lp_mint, token),
        tix.mint_to(token, lp_mint, user_lp, authority, user_lp_amount),
    ])  # fmt: skip
    now = inv.now()
    info = AmmInfo(
        base_vault=coin_vault, quote_vault=pc_vault, base_mint=coin_mint, quote_mint=pc_mint,
        lp_mint=lp_mint, market_id=market, owner=user, base_decimal=coin_decimals,
        quote_decimal=pc_decimals, pool_open_time=open_time,
        status=STATUS_WAITING_TRADE if open_time > now else STATUS_SWAP_ONLY, nonce=nonce,
        lp_reserve=liquidity, open_orders=keys[6], market_program=keys[15],
        target_orders=keys[12],
    )  # fmt: skip
    created = inv.read(amm)
    lamports = created.lamports if created is not None else inv.rent(AMM_INFO_LEN)
    inv.write(amm, Account(lamports, encode_amm_info(info), RAYDIUM_AMM_V4, False, 0))
    ray_log = encode_init_ray_log(open_time=open_time, pc_decimals=pc_decimals,
                                  coin_decimals=coin_decimals, pc_amount=pc_amount,
                                  coin_amount=coin_amount, market=market)  # fmt: skip
    inv.log(f"Program log: ray_log: {ray_log}")


def _amount(account: Account | None) -> int:
    if account is None:
        return 0
    return token_account_fields(bytes(account.data))[2]


def base_units(inv: Invocation) -> int:
    return INITIALIZE2_UNITS


def install(cluster: TransactionExecution) -> None:
    """Stand-in bytecode at the Raydium v4 id and its hosted handler (idempotent)."""
    hosted = next((p for p in cluster._processors if isinstance(p, HostedPrograms)), None)
    if hosted is not None and RAYDIUM_AMM_V4 in hosted.programs:
        return
    memo = cluster.svm.get_account(MEMO_PROGRAM_ID)
    if memo is None:
        raise RuntimeError("the cluster has no Memo v2 program to stand in for Raydium")
    cluster.svm.set_account(RAYDIUM_AMM_V4, Account(memo.lamports, memo.data, memo.owner, True, 0))
    if cluster.svm.get_account(tix.WSOL_MINT) is None:  # the native mint, as on mainnet
        data = native_mint_data()
        rent = cluster.svm.minimum_balance_for_rent_exemption(len(data))
        cluster.svm.set_account(tix.WSOL_MINT, Account(rent, data, tix.TOKEN_PROGRAM_ID, False, 0))
    if hosted is None:
        hosted = HostedPrograms(cluster)
        cluster.add_transaction_processor(hosted)
    hosted.register(HostedProgram(RAYDIUM_AMM_V4, handle, base_units))
