"""Trade graduated coins on PumpSwap as other wallets, with the instructions the SDK sends (the
account list of `PumpAmmSdk.buyInstructions` / `sellInstructions`: WSOL wrapped into the user's
ATA, the swap, the ATA closed again), so every trade is a real transaction on localnet's PumpSwap.

    swap = PumpSwapMarket(cluster)
    swap.buy(mint, trader, lamports=SOL)          # buy_exact_quote_in: spend SOL, fees included
    swap.sell(mint, trader, tokens=swap.token_balance(mint, trader.pubkey()))
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from typing import Any

from solders.compute_budget import set_compute_unit_limit
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.encoding import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from localnet.market import instructions as tix
from localnet.pump.launchpad import LaunchError, LaunchpadBank
from localnet.pump.state import BUYBACK_FEE_RECIPIENTS, PUMP_FEE_PROGRAM_ID, discriminator
from localnet.pumpswap import amm, program
from localnet.pumpswap.state import (
    EVENT_AUTHORITY,
    FEE_CONFIG,
    FEE_CONFIG_FIELDS,
    GLOBAL_CONFIG,
    GLOBAL_CONFIG_LAYOUT,
    GLOBAL_VOLUME_ACCUMULATOR,
    POOL_LAYOUT,
    PROTOCOL_FEE_RECIPIENTS,
    PUMP_AMM_PROGRAM_ID,
    WSOL_MINT,
    canonical_pool_address,
    coin_creator_vault_authority,
    decode_account,
    pool_v2_address,
    user_volume_accumulator_address,
)


def close_account(account: Pubkey, dest: Pubkey, owner: Pubkey) -> Instruction:
    return Instruction(TOKEN_PROGRAM_ID, bytes([9]), [
        AccountMeta(account, False, True), AccountMeta(dest, False, True),
        AccountMeta(owner, True, False),
    ])  # fmt: skip


@dataclass(frozen=True, slots=True)
class PoolState:
    key: Pubkey
    fields: dict[str, Any]
    base_reserve: int
    quote_reserve: int
    base_program: Pubkey

    @property
    def effective_quote(self) -> int:
        return self.quote_reserve + int(self.fields["virtual_quote_reserves"])


def swap_instruction(
    name: str, pool: PoolState, user: Pubkey, amount: int, limit: int,
    protocol_recipient: Pubkey, buyback: Pubkey,
) -> Instruction:  # fmt: skip
    """`buy` (amount = base out, limit = max quote in), `buy_exact_quote_in` (amount = quote to
    spend, limit = min base out) or `sell` (amount = base in, limit = min quote out)."""
    f = pool.fields
    base, quote = f["base_mint"], f["quote_mint"]
    vault = coin_creator_vault_authority(f["coin_creator"])
    keys = {
        "pool": pool.key, "user": user, "global_config": GLOBAL_CONFIG, "base_mint": base,
        "quote_mint": quote,
        "user_base_token_account": tix.associated_token_address(user, base, pool.base_program),
        "user_quote_token_account": tix.associated_token_address(user, quote, TOKEN_PROGRAM_ID),
        "pool_base_token_account": f["pool_base_token_account"],
        "pool_quote_token_account": f["pool_quote_token_account"],
        "protocol_fee_recipient": protocol_recipient,
        "protocol_fee_recipient_token_account": tix.associated_token_address(
            protocol_recipient, quote, TOKEN_PROGRAM_ID),
        "base_token_program": pool.base_program, "quote_token_program": TOKEN_PROGRAM_ID,
        "system_program": tix.SYSTEM_PROGRAM_ID,
        "associated_token_program": tix.ASSOCIATED_TOKEN_PROGRAM_ID,
        "event_authority": EVENT_AUTHORITY, "program": PUMP_AMM_PROGRAM_ID,
        "coin_creator_vault_ata": tix.associated_token_address(vault, quote, TOKEN_PROGRAM_ID),
        "coin_creator_vault_authority": vault,
        "global_volume_accumulator": GLOBAL_VOLUME_ACCUMULATOR,
        "user_volume_accumulator": user_volume_accumulator_address(user),
        "fee_config": FEE_CONFIG, "fee_program": PUMP_FEE_PROGRAM_ID,
    }  # fmt: skip
    names = program.SELL_ACCOUNTS if name == "sell" else program.BUY_ACCOUNTS
    writable = {"pool", "user", "user_base_token_account", "user_quote_token_account",
                "pool_base_token_account", "pool_quote_token_account",
                "protocol_fee_recipient_token_account", "coin_creator_vault_ata",
                "user_volume_accumulator"}  # fmt: skip
    metas = [AccountMeta(keys[n], n == "user", n in writable) for n in names]
    if f["coin_creator"] != Pubkey.default():
        metas.append(AccountMeta(pool_v2_address(base), False, False))
    metas += [AccountMeta(buyback, False, False), AccountMeta(
        tix.associated_token_address(buyback, quote, TOKEN_PROGRAM_ID), False, True)]  # fmt: skip
    data = discriminator("global", name) + struct.pack("<QQ", amount, limit)
    if name != "sell":
        data += b"\x01"  # track_volume: OptionBool(true)
    return Instruction(PUMP_AMM_PROGRAM_ID, data, metas)


class PumpSwapMarket:
    """Other wallets trading graduated coins: each call is one real transaction."""

    def __init__(self, bank: LaunchpadBank, seed: int = 0) -> None:
        self.bank = bank
        self.rng = random.Random(seed)

    def _fields(self, key: Pubkey, kind: str, layout: Any) -> dict[str, Any]:
        account = self.bank.get_account(key)
        fields = None if account is None else decode_account(kind, layout, bytes(account.data))
        if fields is None:
            raise ValueError(f"no {kind} account at {key}")
        return fields

    def _amount(self, key: Pubkey) -> int:
        account = self.bank.get_account(key)
        return 0 if account is None else int.from_bytes(bytes(account.data[64:72]), "little")

    def pool(self, mint: Pubkey) -> PoolState:
        key = canonical_pool_address(mint)
        fields = self._fields(key, "Pool", POOL_LAYOUT)
        base_mint = self.bank.get_account(mint)
        return PoolState(key, fields, self._amount(fields["pool_base_token_account"]),
                         self._amount(fields["pool_quote_token_account"]),
                         base_mint.owner if base_mint else TOKEN_2022_PROGRAM_ID)  # fmt: skip

    def token_balance(self, mint: Pubkey, owner: Pubkey) -> int:
        state = self.pool(mint)
        return self._amount(tix.associated_token_address(owner, mint, state.base_program))

    def rates(self, state: PoolState) -> amm.Rates:
        config = self._fields(GLOBAL_CONFIG, "GlobalConfig", GLOBAL_CONFIG_LAYOUT)
        fee_config = self._fields(FEE_CONFIG, "FeeConfig", FEE_CONFIG_FIELDS)
        mint = self.bank.get_account(state.fields["base_mint"])
        supply = int.from_bytes(bytes(mint.data[36:44]), "little") if mint else 0
        return amm.rates(config, fee_config, state.fields, supply, state.base_reserve,
                         state.effective_quote)  # fmt: skip

    def quote_buy(self, mint: Pubkey, lamports: int) -> int:
        """Tokens `lamports` (fees included) buy now (the SDK's `buyQuoteInput`)."""
        state = self.pool(mint)
        return amm.exact_quote_in(lamports, state.base_reserve, state.effective_quote,
                                  self.rates(state))[0]  # fmt: skip

    def quote_sell(self, mint: Pubkey, tokens: int) -> int:
        """Lamports selling `tokens` returns now, after fees (the SDK's `sellBaseInput`)."""
        state = self.pool(mint)
        out = amm.sell_quote_out(tokens, state.base_reserve, state.effective_quote)
        return out - amm.fees_on(out, self.rates(state)).total

    def _send(self, what: str, payer: Keypair, ixs: list[Instruction]) -> str:
        msg = MessageV0.try_compile(payer.pubkey(), ixs, [], self.bank.latest_blockhash())
        outcome = self.bank.send_transaction(VersionedTransaction(msg, [payer]))
        if outcome.err is not None or not outcome.landed:
            raise LaunchError(what, outcome.err, tuple(outcome.logs))
        return str(outcome.signature)

    def buy(self, mint: Pubkey, trader: Keypair, *, lamports: int, min_tokens: int = 0) -> str:
        """`buy_exact_quote_in`: spend `lamports` (fees included) on whatever they buy now."""
        state, user = self.pool(mint), trader.pubkey()
        wsol = tix.associated_token_address(user, WSOL_MINT, TOKEN_PROGRAM_ID)
        ixs = [
            set_compute_unit_limit(300_000),
            tix.create_associated_token_account_idempotent(user, user, WSOL_MINT,
                                                           TOKEN_PROGRAM_ID),
            transfer(TransferParams(from_pubkey=user, to_pubkey=wsol, lamports=lamports)),
            program.sync_native(wsol),
            tix.create_associated_token_account_idempotent(user, user, mint, state.base_program),
            swap_instruction("buy_exact_quote_in", state, user, lamports, min_tokens,
                             self.rng.choice(PROTOCOL_FEE_RECIPIENTS),
                             self.rng.choice(BUYBACK_FEE_RECIPIENTS)),
            close_account(wsol, user, user),
        ]  # fmt: skip
        return self._send("buy_exact_quote_in", trader, ixs)

    def sell(self, mint: Pubkey, trader: Keypair, *, tokens: int, min_lamports: int = 0) -> str:
        state, user = self.pool(mint), trader.pubkey()
        wsol = tix.associated_token_address(user, WSOL_MINT, TOKEN_PROGRAM_ID)
        ixs = [
            set_compute_unit_limit(300_000),
            tix.create_associated_token_account_idempotent(user, user, WSOL_MINT,
                                                           TOKEN_PROGRAM_ID),
            swap_instruction("sell", state, user, tokens, min_lamports,
                             self.rng.choice(PROTOCOL_FEE_RECIPIENTS),
                             self.rng.choice(BUYBACK_FEE_RECIPIENTS)),
            close_account(wsol, user, user),
        ]  # fmt: skip
        return self._send("sell", trader, ixs)
