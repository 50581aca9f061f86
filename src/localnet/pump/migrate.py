"""pump.fun `migrate` / `migrate_v2`: a complete curve's liquidity becomes the coin's canonical
PumpSwap pool (`localnet.pumpswap`).

Accounts and seeds follow pump.json (25 / 27 accounts) plus the two boost remaining accounts the
SDK's `migrateInstruction` / `migrateV2Instruction` append. What runs, all inside the one atomic
transaction:

1. the curve's whole token balance moves to the pool authority's token account (`["pool-authority",
   mint]`), its real SOL minus `Global.pool_migration_fee` is wrapped into the pool authority's WSOL
   account (the fee goes to `Global.withdraw_authority`);
2. the pool authority "CPIs" PumpSwap `create_pool` (index 0, coin creator = the curve's creator):
   pool account, LP mint, vaults, liquidity in, LP out, `CreatePoolEvent` (logged one level deeper);
3. the LP tokens are burnt (pump-public-docs: "The LP tokens received from the PumpSwap pool are
   then burnt"), the curve keeps only its rent, `CompletePumpAmmMigrationEvent` is emitted.

The `user` signs and pays the rent of the new accounts. Errors: not complete 6006, already migrated
6081, migrate disabled 6018, wrong withdraw authority 2001 ConstraintHasOne, bad PDAs 2006.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, Final

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from localnet.encoding import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, mint_fields
from localnet.market import instructions as tix
from localnet.pump.anchor import (
    ACCOUNT_NOT_INITIALIZED,
    ACCOUNT_OWNED_BY_WRONG_PROGRAM,
    CONSTRAINT_ADDRESS,
    CONSTRAINT_HAS_ONE,
    CONSTRAINT_SEEDS,
    account_error,
)
from localnet.pump.hosted import Invocation, ProgramError
from localnet.pump.state import (
    BONDING_CURVE_LAYOUT,
    COMPLETE_PUMP_AMM_MIGRATION_EVENT_LAYOUT,
    EVENT_AUTHORITY,
    GLOBAL,
    GLOBAL_LAYOUT,
    PUMP_PROGRAM_ID,
    ZERO,
    bonding_curve_address,
    event_log,
)
from localnet.pumpswap import program as amm_program
from localnet.pumpswap.state import (
    EVENT_AUTHORITY as AMM_EVENT_AUTHORITY,
)
from localnet.pumpswap.state import (
    GLOBAL_CONFIG,
    LP_DECIMALS,
    PUMP_AMM_PROGRAM_ID,
    WSOL_MINT,
    boost_vault_authority,
    canonical_pool_address,
    lp_mint_address,
    pool_authority_address,
)

RENT_SYSVAR: Final = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
MIGRATE_ACCOUNTS: Final = (
    "global", "withdraw_authority", "mint", "bonding_curve", "associated_bonding_curve", "user",
    "system_program", "token_program", "pump_amm", "pool", "pool_authority",
    "pool_authority_mint_account", "pool_authority_wsol_account", "amm_global_config",
    "wsol_mint", "lp_mint", "user_pool_token_account", "pool_base_token_account",
    "pool_quote_token_account", "token_2022_program", "associated_token_program",
    "pump_amm_event_authority", "event_authority", "program", "rent",
)  # fmt: skip
MIGRATE_V2_ACCOUNTS: Final = (
    "global", "withdraw_authority", "base_mint", "quote_mint", "bonding_curve",
    "associated_base_bonding_curve", "associated_quote_bonding_curve", "user", "system_program",
    "pump_amm", "pool", "pool_authority", "pool_authority_mint_account",
    "pool_authority_quote_account", "amm_global_config", "lp_mint", "user_pool_token_account",
    "pool_base_token_account", "pool_quote_token_account", "base_token_program",
    "quote_token_program", "token_2022_program", "associated_token_program",
    "pump_amm_event_authority", "rent", "event_authority", "program",
)  # fmt: skip

BONDING_CURVE_NOT_COMPLETE = 6006
DISABLED_MIGRATE = 6018
NOT_ENOUGH_REMAINING_ACCOUNTS = 6027
BONDING_CURVE_ALREADY_MIGRATED = 6081
POOL_MIGRATION_FEE_TOO_HIGH = 6015
MIGRATE_ERRORS: Final = {
    6006: ("BondingCurveNotComplete", "The bonding curve has not completed."),
    6015: ("PoolMigrationFeeShouldBeLessThanFinalRealSolReserves",
           "pool_migration_fee should be less than final_real_sol_reserves"),
    6018: ("DisabledMigrate", "Migrate instruction is disabled"),
    6027: ("NotEnoughRemainingAccounts", "Not enough remaining accounts"),
    6081: ("BondingCurveAlreadyMigrated", "Bonding curve has already migrated"),
}  # fmt: skip


def migrate(inv: Invocation, *, v2: bool) -> None:
    from localnet.pump import program as pump  # the program module imports this one

    acc = pump.Accounts(inv, MIGRATE_V2_ACCOUNTS if v2 else MIGRATE_ACCOUNTS)

    def fail(code: int) -> Exception:
        name, message = MIGRATE_ERRORS[code]
        inv.log(f"Program log: AnchorError thrown in programs/pump/src/instructions/migrate.rs:0. "
                f"Error Code: {name}. Error Number: {code}. Error Message: {message}.")  # fmt: skip
        return ProgramError({"Custom": code}, inv.logs)

    mint_name = "base_mint" if v2 else "mint"
    acc.signer("user")
    acc.writable("withdraw_authority", "bonding_curve", "user", "pool", "pool_authority",
                 "pool_authority_mint_account", "lp_mint", "user_pool_token_account",
                 "pool_base_token_account", "pool_quote_token_account")  # fmt: skip
    acc.expect("global", GLOBAL)
    acc.expect("system_program", pump.SYSTEM_PROGRAM, CONSTRAINT_ADDRESS)
    acc.expect("pump_amm", PUMP_AMM_PROGRAM_ID, CONSTRAINT_ADDRESS)
    acc.expect("token_2022_program", TOKEN_2022_PROGRAM_ID, CONSTRAINT_ADDRESS)
    acc.expect("associated_token_program", tix.ASSOCIATED_TOKEN_PROGRAM_ID, CONSTRAINT_ADDRESS)
    acc.expect("rent", RENT_SYSVAR, CONSTRAINT_ADDRESS)
    acc.expect("event_authority", EVENT_AUTHORITY)
    acc.expect("pump_amm_event_authority", AMM_EVENT_AUTHORITY)
    acc.expect("program", PUMP_PROGRAM_ID, CONSTRAINT_ADDRESS)
    acc.expect("amm_global_config", GLOBAL_CONFIG)
    global_ = acc.load("global", "Global", GLOBAL_LAYOUT, PUMP_PROGRAM_ID)
    acc.expect("withdraw_authority", global_["withdraw_authority"], CONSTRAINT_HAS_ONE)
    mint = acc.key(mint_name)
    mint_account = inv.read(mint)
    if mint_account is None:
        raise account_error(inv, ACCOUNT_NOT_INITIALIZED, mint_name)
    base_program = mint_account.owner
    if v2:
        acc.expect("base_token_program", base_program, CONSTRAINT_ADDRESS)
        quote_program = acc.expect("quote_token_program", TOKEN_PROGRAM_ID, CONSTRAINT_ADDRESS)
    else:
        quote_program = acc.expect("token_program", TOKEN_PROGRAM_ID, CONSTRAINT_ADDRESS)
        acc.expect("wsol_mint", WSOL_MINT, CONSTRAINT_ADDRESS)
    if base_program not in (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
        raise account_error(inv, ACCOUNT_OWNED_BY_WRONG_PROGRAM, mint_name, base_program,
                            TOKEN_PROGRAM_ID)  # fmt: skip
    curve_key = acc.expect("bonding_curve", bonding_curve_address(mint))
    curve = acc.load("bonding_curve", "BondingCurve", BONDING_CURVE_LAYOUT, PUMP_PROGRAM_ID)
    if v2:
        quote_mint = acc.key("quote_mint")
        if quote_mint != WSOL_MINT or curve["quote_mint"] not in (ZERO, WSOL_MINT):
            raise pump.program_error(inv, pump.UNSUPPORTED_QUOTE_MINT, "instructions/migrate.rs:0")
        acc.expect("associated_quote_bonding_curve",
                   tix.associated_token_address(curve_key, WSOL_MINT, quote_program))  # fmt: skip
    curve_ata = acc.expect("associated_base_bonding_curve" if v2 else "associated_bonding_curve",
                           tix.associated_token_address(curve_key, mint, base_program))  # fmt: skip
    authority = acc.expect("pool_authority", pool_authority_address(mint))
    pool = acc.expect("pool", canonical_pool_address(mint))
    authority_base = acc.expect(
        "pool_authority_mint_account", tix.associated_token_address(authority, mint, base_program)
    )
    authority_quote = acc.expect(
        "pool_authority_quote_account" if v2 else "pool_authority_wsol_account",
        tix.associated_token_address(authority, WSOL_MINT, quote_program),
    )
    lp_mint = acc.expect("lp_mint", lp_mint_address(pool))
    authority_lp = acc.expect("user_pool_token_account", tix.associated_token_address(
        authority, lp_mint, TOKEN_2022_PROGRAM_ID))  # fmt: skip
    acc.expect("pool_base_token_account", tix.associated_token_address(pool, mint, base_program))
    acc.expect("pool_quote_token_account",
               tix.associated_token_address(pool, WSOL_MINT, quote_program))  # fmt: skip
    remaining = acc.remaining()
    if len(remaining) < 2:
        raise fail(NOT_ENOUGH_REMAINING_ACCOUNTS)
    boost_authority = boost_vault_authority(pool)
    if remaining[0].pubkey != boost_authority:
        raise account_error(inv, CONSTRAINT_SEEDS, "boost_vault_authority",
                            remaining[0].pubkey, boost_authority)  # fmt: skip
    if not global_["enable_migrate"]:
        raise fail(DISABLED_MIGRATE)
    if not curve["complete"]:
        raise fail(BONDING_CURVE_NOT_COMPLETE)
    tokens = amm_program.token_amount(inv, curve_ata)
    if tokens == 0 or inv.read(pool) is not None:
        raise fail(BONDING_CURVE_ALREADY_MIGRATED)
    sol = int(curve["real_quote_reserves"])
    migration_fee = int(global_["pool_migration_fee"])
    if sol <= migration_fee:
        raise fail(POOL_MIGRATION_FEE_TOO_HIGH)
    quote_in = sol - migration_fee
    user = acc.key("user")
    decimals = mint_fields(bytes(mint_account.data))[1]

    # 1. liquidity out of the curve, to the pool authority
    ixs: list[Instruction] = [
        tix.create_associated_token_account_idempotent(user, authority, mint, base_program),
        tix.create_associated_token_account_idempotent(user, authority, WSOL_MINT, quote_program),
        tix.transfer_checked(base_program, curve_ata, mint, authority_base, curve_key, tokens,
                             decimals),
    ]  # fmt: skip
    inv.invoke(ixs)
    inv.move_lamports(curve_key, authority_quote, quote_in)
    inv.move_lamports(curve_key, acc.key("withdraw_authority"), migration_fee)
    inv.invoke([amm_program.sync_native(authority_quote)])
    # 2. PumpSwap create_pool, signed by the pool authority
    created: list[amm_program.CreatedPool] = []

    def create(child: Invocation) -> None:
        created.append(amm_program.create_pool(child, amm_program.NewPool(
            creator=authority, payer=user, base_mint=mint, base_program=base_program,
            creator_base=authority_base, creator_quote=authority_quote,
            base_amount=amm_program.token_amount(child, authority_base), quote_amount=quote_in,
            coin_creator=curve["creator"], is_mayhem_mode=curve["is_mayhem_mode"],
            creator_fee_bps=int(curve["creator_fee_bps"]),
            can_edit_creator_fee=bool(curve["can_edit_creator_fee"]),
            is_holder_reward=bool(curve["is_holder_reward"]), quote_program=quote_program,
        )))  # fmt: skip

    base_in = amm_program.token_amount(inv, authority_base)
    inv.cpi(PUMP_AMM_PROGRAM_ID, create, _create_pool_ix(
        pool=pool, creator=authority, mint=mint, lp_mint=lp_mint, creator_base=authority_base,
        creator_quote=authority_quote, creator_lp=authority_lp, base_program=base_program,
        quote_program=quote_program, base_amount=base_in, quote_amount=quote_in,
        coin_creator=curve["creator"], mayhem=bool(curve["is_mayhem_mode"]),
    ))  # fmt: skip
    new = created[0]
    # 3. burn the LP, close the curve's books
    inv.invoke([tix.burn_checked(TOKEN_2022_PROGRAM_ID, authority_lp, lp_mint, authority,
                                 new.lp_amount, LP_DECIMALS)])  # fmt: skip
    after: dict[str, Any] = dict(curve)
    after.update(real_token_reserves=0, real_quote_reserves=0, complete=True)
    pump._write_curve(inv, curve_key, after)
    inv.log(event_log(COMPLETE_PUMP_AMM_MIGRATION_EVENT_LAYOUT, {
        "user": user, "mint": mint, "mint_amount": tokens, "sol_amount": quote_in,
        "pool_migration_fee": migration_fee, "bonding_curve": curve_key, "timestamp": inv.now(),
        "pool": pool, "quote_mint": WSOL_MINT,
    }))  # fmt: skip


def _create_pool_ix(
    *,
    pool: Pubkey,
    creator: Pubkey,
    mint: Pubkey,
    lp_mint: Pubkey,
    creator_base: Pubkey,
    creator_quote: Pubkey,
    creator_lp: Pubkey,
    base_program: Pubkey,
    quote_program: Pubkey,
    base_amount: int,
    quote_amount: int,
    coin_creator: Pubkey,
    mayhem: bool,
) -> Instruction:
    """The PumpSwap `create_pool` CPI as migrate builds it (pump_amm IDL account order; data:
    discriminator, index u16, base_amount_in u64, quote_amount_in u64, coin_creator,
    is_mayhem_mode): what the transaction's inner instructions report."""
    data = (hashlib.sha256(b"global:create_pool").digest()[:8]
            + struct.pack("<HQQ", 0, base_amount, quote_amount) + bytes(coin_creator)
            + bytes([int(mayhem)]))  # fmt: skip
    w, r = True, False
    metas = [
        AccountMeta(pool, False, w), AccountMeta(GLOBAL_CONFIG, False, r),
        AccountMeta(creator, True, w), AccountMeta(mint, False, r),
        AccountMeta(WSOL_MINT, False, r), AccountMeta(lp_mint, False, w),
        AccountMeta(creator_base, False, w), AccountMeta(creator_quote, False, w),
        AccountMeta(creator_lp, False, w),
        AccountMeta(tix.associated_token_address(pool, mint, base_program), False, w),
        AccountMeta(tix.associated_token_address(pool, WSOL_MINT, quote_program), False, w),
        AccountMeta(tix.SYSTEM_PROGRAM_ID, False, r), AccountMeta(TOKEN_2022_PROGRAM_ID, False, r),
        AccountMeta(base_program, False, r), AccountMeta(quote_program, False, r),
        AccountMeta(tix.ASSOCIATED_TOKEN_PROGRAM_ID, False, r),
        AccountMeta(AMM_EVENT_AUTHORITY, False, r), AccountMeta(PUMP_AMM_PROGRAM_ID, False, r),
    ]  # fmt: skip
    return Instruction(PUMP_AMM_PROGRAM_ID, data, metas)
