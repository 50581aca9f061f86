"""pump.fun on localnet: the bonding-curve program (`6EF8rr...`) and the pump fee program
(`pfeeUx...`) under their real ids, checked against the official `@pump-fun/pump-sdk` 2.0.0.

How it runs (the bytecode cannot be had here):

- **Accounts are real.** `Global`, `FeeConfig` (under the fee program, PDA `["fee_config", pump]`),
  `GlobalVolumeAccumulator`, and per coin `BondingCurve`, its token account, user volume
  accumulators and creator vaults are ordinary accounts in the current Anchor layouts
  (`localnet.pump.state`), owned by the right programs, readable by RPC, WebSocket and the SDK's
  decoders. Fee and buyback recipients are mainnet's keys (the SDK picks from the same lists).
- **The program ids hold stand-in bytecode** (Memo v2, as the market does for Jupiter), so both
  are executable accounts and a transaction naming them passes the runtime's program checks.
- **The instructions run in Python, inside the same atomic transaction** (`localnet.pump.hosted`,
  plugged into the cluster as a `TransactionProcessor`): the handler checks accounts like the
  program, prices the trade with the program's integer math and FeeConfig's market-cap tiers, and
  executes every token and lamport movement a user could see with LiteSVM's real System, SPL
  Token, Token-2022 and Associated Token programs (so a Token-2022 transfer fee, a frozen or
  paused account, a missing ATA fail or bite exactly as on mainnet). What only the program can do
  is written directly: its own accounts' data, lamports it pays out of the curve (sells), the
  curve's token account paying out (the user is made delegate for exactly the bought amount; the
  token program clears the delegate as the transfer uses it up), the temporary mint authority of a
  create (revoked by a real SetAuthority in the same transaction). Any failure restores every
  account: the transaction lands failed with `InstructionError(i, Custom(code))` and the fee
  charged, like mainnet.

Why this way: running the token legs for real keeps honeypot behaviour (fees, freezes, hooks)
truthful with no second implementation of SPL Token; the alternative, writing balances directly,
would make a transfer-fee mint look honest. The cost is that inner instructions are not reported
(localnet reports `innerInstructions: []` everywhere) and compute units are the inner programs'
real units plus a fixed amount per pump instruction. A completed curve refuses trades with
`BondingCurveComplete` (6005); `migrate` / `migrate_v2` (`localnet.pump.migrate`) move its
liquidity into the coin's canonical PumpSwap pool (`localnet.pumpswap`, installed with pump).

Quote mints other than SOL (`localnet.pump.quotes`): `create_v2` with the SDK's four remaining
accounts quotes a curve in a Global-whitelisted mint (localnet puts a USDC mint at mainnet USDC's
address) or a `QuoteControl` mint; `buy_v2` / `sell_v2` then move that token between the user's,
the curve's, the fee and buyback recipients' and the creator vault's quote ATAs, priced with
pump-fees' stable tiers (USDC) or exotic flat fees. Mayhem coins pay the reserved fee recipients,
cashback coins pay the creator's share back to the trader's volume accumulator, fee-shared coins
list their `SharingConfig` shareholders in the `TradeEvent` (docs/LOCALNET.md, where it differs).
"""

from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

from localnet.execution import TransactionExecution
from localnet.pump import program, quotes
from localnet.pump.hosted import HostedProgram, HostedPrograms
from localnet.pump.state import (
    BUYBACK_FEE_RECIPIENTS,
    FEE_CONFIG,
    FEE_CONFIG_LAYOUT,
    FEE_CONFIG_SIZE,
    FEE_RECIPIENTS,
    GLOBAL,
    GLOBAL_LAYOUT,
    GLOBAL_SIZE,
    GLOBAL_VOLUME_ACCUMULATOR,
    GLOBAL_VOLUME_ACCUMULATOR_LAYOUT,
    GLOBAL_VOLUME_ACCUMULATOR_SIZE,
    PUMP_FEE_PROGRAM_ID,
    PUMP_PROGRAM_ID,
    RESERVED_FEE_RECIPIENTS,
    encode_account,
    genesis_fee_config,
    genesis_global,
)

__all__ = ["PUMP_FEE_PROGRAM_ID", "PUMP_PROGRAM_ID", "HostedPrograms", "install"]

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
RECIPIENT_BALANCE = 1_000_000_000  # fee recipients are long-lived funded accounts on mainnet


def install(cluster: TransactionExecution) -> HostedPrograms:
    """Put the pump programs and their genesis accounts on `cluster` (idempotent per cluster)."""
    svm = cluster.svm
    memo = svm.get_account(MEMO_PROGRAM_ID)
    if memo is None:
        raise RuntimeError("the cluster has no Memo v2 program to stand in for pump.fun")
    for program_id in (PUMP_PROGRAM_ID, PUMP_FEE_PROGRAM_ID):
        svm.set_account(program_id, Account(memo.lamports, memo.data, memo.owner, True, 0))

    def put(key: Pubkey, data: bytes, owner: Pubkey) -> None:
        rent = svm.minimum_balance_for_rent_exemption(len(data))
        svm.set_account(key, Account(rent, data, owner, False, 0))

    put(GLOBAL, encode_account("Global", GLOBAL_LAYOUT, genesis_global(), GLOBAL_SIZE),
        PUMP_PROGRAM_ID)  # fmt: skip
    put(FEE_CONFIG, encode_account("FeeConfig", FEE_CONFIG_LAYOUT, genesis_fee_config(),
        FEE_CONFIG_SIZE), PUMP_FEE_PROGRAM_ID)  # fmt: skip
    gva = {
        "start_time": 0,
        "end_time": 0,
        "seconds_in_a_day": 86_400,
        "mint": Pubkey.default(),
        "total_token_supply": [0] * 30,
        "sol_volumes": [0] * 30,
    }
    gva_data = encode_account(
        "GlobalVolumeAccumulator", GLOBAL_VOLUME_ACCUMULATOR_LAYOUT, gva,
        GLOBAL_VOLUME_ACCUMULATOR_SIZE,
    )  # fmt: skip
    put(GLOBAL_VOLUME_ACCUMULATOR, gva_data, PUMP_PROGRAM_ID)
    for key in (*FEE_RECIPIENTS, *BUYBACK_FEE_RECIPIENTS, *RESERVED_FEE_RECIPIENTS):
        if svm.get_account(key) is None:
            svm.set_account(key, Account(RECIPIENT_BALANCE, b"", Pubkey.default(), False, 0))
    quotes.install(cluster)
    processors = [p for p in cluster._processors if isinstance(p, HostedPrograms)]
    hosted = processors[0] if processors else HostedPrograms(cluster)
    hosted.register(HostedProgram(PUMP_PROGRAM_ID, program.handle, program.base_units))
    if not processors:
        cluster.add_transaction_processor(hosted)
    from localnet import pumpswap  # PumpSwap is where complete curves migrate to

    pumpswap.install(cluster, hosted)
    return hosted
