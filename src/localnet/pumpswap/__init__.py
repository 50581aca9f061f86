"""PumpSwap on localnet: the pump AMM program (`pAMMBa...`) under its real id, checked against the
official `@pump-fun/pump-swap-sdk` 1.20.0, hosted like pump.fun (`localnet.pump`): Memo v2
stand-in bytecode at the program id, a Python handler (`localnet.pumpswap.program`) that checks
accounts like the program and executes every token leg as real SPL Token / Token-2022
instructions, inside the same atomic transaction, every account restored on failure.

Accounts are real and in the current layouts (`localnet.pumpswap.state`): `GlobalConfig`
(mainnet's rates and protocol fee recipients), the pump-amm `FeeConfig` under the fee program
(`["fee_config", pAMM]`, mainnet's 25 market-cap tiers), `GlobalVolumeAccumulator`, and per pool
`Pool` (300 bytes, signed `virtual_quote_reserves`), its LP mint and vaults. Pools are born by
pump's `migrate` (`localnet.pump.migrate`): the canonical pool `["pool", 0, pool-authority(mint),
mint, WSOL]`. The native mint `So111...` and the fee recipients' WSOL accounts exist at genesis.

Trades price on effective reserves (base vault balance; quote vault balance +
`virtual_quote_reserves`) with the program's integer math (`localnet.pumpswap.amm`, equal to the
SDK's `buy.ts` / `sell.ts` / `fees.ts` to the base unit). The vaults pay out through token
transfers signed by the pool PDA, as `invoke_signed` would.
"""

from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

from localnet.encoding import TOKEN_PROGRAM_ID
from localnet.execution import TransactionExecution
from localnet.pump.hosted import HostedProgram, HostedPrograms
from localnet.pump.state import (
    BUYBACK_FEE_RECIPIENTS,
    FEE_CONFIG_LAYOUT,
    GLOBAL_VOLUME_ACCUMULATOR_LAYOUT,
    PUMP_FEE_PROGRAM_ID,
)
from localnet.pumpswap import program
from localnet.pumpswap.state import (
    FEE_CONFIG,
    FEE_CONFIG_SIZE,
    GLOBAL_CONFIG,
    GLOBAL_CONFIG_LAYOUT,
    GLOBAL_CONFIG_SIZE,
    GLOBAL_VOLUME_ACCUMULATOR,
    GLOBAL_VOLUME_ACCUMULATOR_SIZE,
    PROTOCOL_FEE_RECIPIENTS,
    PUMP_AMM_PROGRAM_ID,
    WSOL_MINT,
    encode_account,
    genesis_fee_config,
    genesis_global_config,
    native_mint_data,
    token_account_data,
    wsol_ata,
)

__all__ = ["PUMP_AMM_PROGRAM_ID", "install"]

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
TOKEN_ACCOUNT_LEN = 165
RECIPIENT_BALANCE = 1_000_000_000


def install(cluster: TransactionExecution, hosted: HostedPrograms) -> None:
    """Put PumpSwap and its genesis accounts on `cluster`, its handler into `hosted`."""
    svm = cluster.svm
    memo = svm.get_account(MEMO_PROGRAM_ID)
    if memo is None:
        raise RuntimeError("the cluster has no Memo v2 program to stand in for PumpSwap")
    svm.set_account(PUMP_AMM_PROGRAM_ID, Account(memo.lamports, memo.data, memo.owner, True, 0))

    def put(key: Pubkey, data: bytes, owner: Pubkey, extra: int = 0) -> None:
        rent = svm.minimum_balance_for_rent_exemption(len(data))
        svm.set_account(key, Account(rent + extra, data, owner, False, 0))

    if svm.get_account(WSOL_MINT) is None:
        put(WSOL_MINT, native_mint_data(), TOKEN_PROGRAM_ID)
    put(GLOBAL_CONFIG, encode_account("GlobalConfig", GLOBAL_CONFIG_LAYOUT,
        genesis_global_config(), GLOBAL_CONFIG_SIZE), PUMP_AMM_PROGRAM_ID)  # fmt: skip
    put(FEE_CONFIG, encode_account("FeeConfig", FEE_CONFIG_LAYOUT, genesis_fee_config(),
        FEE_CONFIG_SIZE), PUMP_FEE_PROGRAM_ID)  # fmt: skip
    gva = {"start_time": 0, "end_time": 0, "seconds_in_a_day": 86_400, "mint": Pubkey.default(),
           "total_token_supply": [0] * 30, "sol_volumes": [0] * 30}  # fmt: skip
    put(GLOBAL_VOLUME_ACCUMULATOR, encode_account("GlobalVolumeAccumulator",
        GLOBAL_VOLUME_ACCUMULATOR_LAYOUT, gva, GLOBAL_VOLUME_ACCUMULATOR_SIZE),
        PUMP_AMM_PROGRAM_ID)  # fmt: skip
    reserve = svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN)
    for owner in (*PROTOCOL_FEE_RECIPIENTS, *BUYBACK_FEE_RECIPIENTS):
        if svm.get_account(owner) is None:
            svm.set_account(owner, Account(RECIPIENT_BALANCE, b"", Pubkey.default(), False, 0))
        ata = wsol_ata(owner)
        if svm.get_account(ata) is None:
            put(ata, token_account_data(WSOL_MINT, owner, 0, reserve), TOKEN_PROGRAM_ID)
    hosted.register(HostedProgram(PUMP_AMM_PROGRAM_ID, program.handle, program.base_units))
