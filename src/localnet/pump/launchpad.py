"""Launch coins on the pump.fun curve and trade them as other wallets, with the same instructions
a client sends (`create_v2`, `buy_v2`, `sell_v2`, account lists of pump-sdk 2.0.0), so every
launch and trade is a real transaction on localnet's pump program (`localnet.pump`).

    pad = PumpLaunchpad(cluster)
    launch = pad.launch(creator, name="Moon", symbol="MOON", dev_buy_lamports=SOL)
    pad.buy(launch.mint, trader, lamports=SOL // 10)
    pad.sell(launch.mint, trader, tokens=pad.token_balance(launch.mint, trader.pubkey()))
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from typing import Any, Protocol

from solders.account import Account
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction

from localnet.encoding import TOKEN_2022_PROGRAM_ID
from localnet.market import instructions as tix
from localnet.pump import curve as math
from localnet.pump import program
from localnet.pump.state import (
    AUTHORITY,
    BONDING_CURVE_LAYOUT,
    BUYBACK_FEE_RECIPIENTS,
    EVENT_AUTHORITY,
    FEE_CONFIG,
    FEE_CONFIG_LAYOUT,
    FEE_RECIPIENTS,
    GLOBAL,
    GLOBAL_LAYOUT,
    GLOBAL_VOLUME_ACCUMULATOR,
    MAX_SHAREHOLDERS,
    MAYHEM_PROGRAM_ID,
    MINT_AUTHORITY,
    PUMP_FEE_PROGRAM_ID,
    PUMP_PROGRAM_ID,
    QUOTE_CONTROL,
    SHARING_ACTIVE,
    SHARING_CONFIG_LAYOUT,
    ZERO,
    bonding_curve_address,
    creator_vault_address,
    decode_account,
    discriminator,
    encode_account,
    is_legacy_quote_mint,
    sharing_config_address,
    user_volume_accumulator_address,
)


class LaunchpadBank(Protocol):
    def latest_blockhash(self) -> Any: ...

    def get_account(self, pubkey: Pubkey) -> Any: ...

    def send_transaction(self, tx: VersionedTransaction) -> Any: ...


class LaunchError(Exception):
    """A launch or trade transaction failed; `err` is the transaction error."""

    def __init__(self, what: str, err: Any, logs: tuple[str, ...]) -> None:
        super().__init__(f"{what} failed: {err}")
        self.err, self.logs = err, logs


@dataclass(frozen=True, slots=True)
class CurveLaunch:
    mint: Pubkey
    creator: Pubkey
    bonding_curve: Pubkey
    create_signature: str
    dev_buy_signature: str | None
    dev_tokens: int


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<I", len(raw)) + raw


def _metas(names: tuple[str, ...], keys: dict[str, Pubkey], writable: set[str],
           signers: set[str]) -> list[AccountMeta]:  # fmt: skip
    return [AccountMeta(keys[n], n in signers, n in writable) for n in names]


def create_v2_instruction(
    mint: Pubkey, creator: Pubkey, user: Pubkey, name: str, symbol: str, uri: str,
    *, quote_mint: Pubkey | None = None, quote_token_program: Pubkey = tix.TOKEN_PROGRAM_ID,
    mayhem: bool = False, creator_fee_bps: int = 0,
) -> Instruction:  # fmt: skip
    """`create_v2` as the SDK's `createV2Instruction` builds it (a non-SOL `quote_mint` adds the
    four remaining accounts: mint, the curve's quote ATA, the quote token program, QuoteControl)."""
    curve = bonding_curve_address(mint)

    def mayhem_pda(*seeds: bytes) -> Pubkey:
        return Pubkey.find_program_address(list(seeds), MAYHEM_PROGRAM_ID)[0]

    sol_vault = mayhem_pda(b"sol-vault")
    keys = {
        "mint": mint, "mint_authority": MINT_AUTHORITY, "bonding_curve": curve,
        "associated_bonding_curve": tix.associated_token_address(
            curve, mint, TOKEN_2022_PROGRAM_ID),
        "global": GLOBAL, "user": user, "system_program": tix.SYSTEM_PROGRAM_ID,
        "token_program": TOKEN_2022_PROGRAM_ID,
        "associated_token_program": tix.ASSOCIATED_TOKEN_PROGRAM_ID,
        "mayhem_program_id": MAYHEM_PROGRAM_ID, "global_params": mayhem_pda(b"global-params"),
        "sol_vault": sol_vault, "mayhem_state": mayhem_pda(b"mayhem-state", bytes(mint)),
        "mayhem_token_vault": tix.associated_token_address(
            sol_vault, mint, TOKEN_2022_PROGRAM_ID),
        "event_authority": EVENT_AUTHORITY, "program": PUMP_PROGRAM_ID,
    }  # fmt: skip
    writable = {"mint", "bonding_curve", "associated_bonding_curve", "user", "mayhem_program_id",
                "sol_vault", "mayhem_state", "mayhem_token_vault"}  # fmt: skip
    data = (discriminator("global", "create_v2") + _string(name) + _string(symbol) + _string(uri)
            + bytes(creator) + bytes([mayhem]) + b"\x00" + struct.pack("<Q", creator_fee_bps)
            + b"\x00")  # fmt: skip
    metas = _metas(program.CREATE_V2_ACCOUNTS, keys, writable, {"mint", "user"})
    if quote_mint is not None and not is_legacy_quote_mint(quote_mint):
        metas += [
            AccountMeta(quote_mint, False, False),
            AccountMeta(tix.associated_token_address(curve, quote_mint, quote_token_program),
                        False, True),
            AccountMeta(quote_token_program, False, False),
            AccountMeta(QUOTE_CONTROL, False, False),
        ]  # fmt: skip
    return Instruction(PUMP_PROGRAM_ID, data, metas)


def trade_v2_instruction(
    side: str, mint: Pubkey, creator: Pubkey, user: Pubkey, amount: int, limit: int,
    fee_recipient: Pubkey, buyback: Pubkey, token_program: Pubkey = TOKEN_2022_PROGRAM_ID,
    quote_mint: Pubkey = tix.WSOL_MINT, quote_token_program: Pubkey = tix.TOKEN_PROGRAM_ID,
) -> Instruction:  # fmt: skip
    """`buy_v2` (amount = tokens, limit = max quote cost) or `sell_v2` (limit = min quote out):
    WSOL as the quote for a SOL curve, else the curve's quote mint and its token program."""
    curve, vault = bonding_curve_address(mint), creator_vault_address(creator)
    uva = user_volume_accumulator_address(user)
    wsol, spl = quote_mint, quote_token_program

    def quote_ata(owner: Pubkey) -> Pubkey:
        return tix.associated_token_address(owner, wsol, spl)

    keys = {
        "global": GLOBAL, "base_mint": mint, "quote_mint": wsol,
        "base_token_program": token_program,
        "quote_token_program": spl, "associated_token_program": tix.ASSOCIATED_TOKEN_PROGRAM_ID,
        "fee_recipient": fee_recipient, "associated_quote_fee_recipient": quote_ata(fee_recipient),
        "buyback_fee_recipient": buyback,
        "associated_quote_buyback_fee_recipient": quote_ata(buyback), "bonding_curve": curve,
        "associated_base_bonding_curve": tix.associated_token_address(curve, mint, token_program),
        "associated_quote_bonding_curve": quote_ata(curve), "user": user,
        "associated_base_user": tix.associated_token_address(user, mint, token_program),
        "associated_quote_user": quote_ata(user), "creator_vault": vault,
        "associated_creator_vault": quote_ata(vault),
        "sharing_config": sharing_config_address(mint),
        "global_volume_accumulator": GLOBAL_VOLUME_ACCUMULATOR, "user_volume_accumulator": uva,
        "associated_user_volume_accumulator": quote_ata(uva), "fee_config": FEE_CONFIG,
        "fee_program": PUMP_FEE_PROGRAM_ID, "system_program": tix.SYSTEM_PROGRAM_ID,
        "event_authority": EVENT_AUTHORITY, "program": PUMP_PROGRAM_ID,
    }  # fmt: skip
    names = program.BUY_V2_ACCOUNTS if side == "buy" else program.SELL_V2_ACCOUNTS
    writable = {n for n in names if n.startswith("associated_") and n != "associated_token_program"}
    writable |= {"fee_recipient", "buyback_fee_recipient", "bonding_curve", "user",
                 "creator_vault", "user_volume_accumulator"}  # fmt: skip
    data = discriminator("global", f"{side}_v2") + struct.pack("<QQ", amount, limit)
    return Instruction(PUMP_PROGRAM_ID, data, _metas(names, keys, writable, {"user"}))


def migrate_instruction(
    mint: Pubkey, user: Pubkey, base_program: Pubkey = TOKEN_2022_PROGRAM_ID,
    withdraw_authority: Pubkey = AUTHORITY,
) -> Instruction:  # fmt: skip
    """`migrate` with the SDK's accounts (`migrateInstruction`: 25 + the two boost accounts)."""
    from localnet.pump.migrate import MIGRATE_ACCOUNTS, RENT_SYSVAR
    from localnet.pumpswap import state as amm

    curve = bonding_curve_address(mint)
    authority = amm.pool_authority_address(mint)
    pool = amm.canonical_pool_address(mint)
    lp_mint = amm.lp_mint_address(pool)
    spl = tix.TOKEN_PROGRAM_ID
    keys = {
        "global": GLOBAL, "withdraw_authority": withdraw_authority, "mint": mint,
        "bonding_curve": curve,
        "associated_bonding_curve": tix.associated_token_address(curve, mint, base_program),
        "user": user, "system_program": tix.SYSTEM_PROGRAM_ID, "token_program": spl,
        "pump_amm": amm.PUMP_AMM_PROGRAM_ID, "pool": pool, "pool_authority": authority,
        "pool_authority_mint_account": tix.associated_token_address(authority, mint,
                                                                    base_program),
        "pool_authority_wsol_account": tix.associated_token_address(authority, tix.WSOL_MINT,
                                                                    spl),
        "amm_global_config": amm.GLOBAL_CONFIG, "wsol_mint": tix.WSOL_MINT, "lp_mint": lp_mint,
        "user_pool_token_account": tix.associated_token_address(authority, lp_mint,
                                                                TOKEN_2022_PROGRAM_ID),
        "pool_base_token_account": tix.associated_token_address(pool, mint, base_program),
        "pool_quote_token_account": tix.associated_token_address(pool, tix.WSOL_MINT, spl),
        "token_2022_program": TOKEN_2022_PROGRAM_ID,
        "associated_token_program": tix.ASSOCIATED_TOKEN_PROGRAM_ID,
        "pump_amm_event_authority": amm.EVENT_AUTHORITY, "event_authority": EVENT_AUTHORITY,
        "program": PUMP_PROGRAM_ID, "rent": RENT_SYSVAR,
    }  # fmt: skip
    readonly = {"global", "mint", "system_program", "token_program", "pump_amm",
                "amm_global_config", "wsol_mint", "token_2022_program", "associated_token_program",
                "pump_amm_event_authority", "event_authority", "program", "rent"}  # fmt: skip
    metas = [AccountMeta(keys[n], n == "user", n not in readonly) for n in MIGRATE_ACCOUNTS]
    boost = amm.boost_vault_authority(pool)
    metas += [
        AccountMeta(boost, False, False),
        AccountMeta(tix.associated_token_address(boost, tix.WSOL_MINT, spl), False, True),
    ]
    return Instruction(PUMP_PROGRAM_ID, discriminator("global", "migrate"), metas)


@dataclass(frozen=True, slots=True)
class Graduation:
    mint: Pubkey
    pool: Pubkey
    complete_signature: str | None  # the buy that emptied the curve (None: already complete)
    migrate_signature: str


def _budget(units: int, cu_price: int) -> list[Instruction]:
    out = [set_compute_unit_limit(units)]
    return [*out, set_compute_unit_price(cu_price)] if cu_price else out


class PumpLaunchpad:
    """Creators launch, other wallets trade: each call is one or two real transactions."""

    def __init__(self, bank: LaunchpadBank, seed: int = 0) -> None:
        self.bank = bank
        self.rng = random.Random(seed)

    # -- reads -------------------------------------------------------------------------------------
    def _fields(self, key: Pubkey, kind: str, layout: Any) -> dict[str, Any]:
        account = self.bank.get_account(key)
        fields = None if account is None else decode_account(kind, layout, bytes(account.data))
        if fields is None:
            raise ValueError(f"no {kind} account at {key}")
        return fields

    def curve(self, mint: Pubkey) -> dict[str, Any]:
        return self._fields(bonding_curve_address(mint), "BondingCurve", BONDING_CURVE_LAYOUT)

    def token_balance(self, mint: Pubkey, owner: Pubkey) -> int:
        ata = tix.associated_token_address(owner, mint, TOKEN_2022_PROGRAM_ID)
        account = self.bank.get_account(ata)
        if account is None or not account.data:
            return 0
        return int(TokenAccount.from_bytes(bytes(account.data[:165])).amount)

    def quote_buy(self, mint: Pubkey, lamports: int) -> int:
        """Tokens `lamports` (fees included) buy now: the SDK's getBuyTokenAmountFromSolAmount."""
        global_ = self._fields(GLOBAL, "Global", GLOBAL_LAYOUT)
        fee_config = self._fields(FEE_CONFIG, "FeeConfig", FEE_CONFIG_LAYOUT)
        state = self.curve(mint)
        rates = math.fee_rates(global_, fee_config, state)
        total = rates.protocol_bps + (rates.creator_bps if state["creator"] != ZERO else 0)
        spend = (lamports - 1) * 10_000 // (total + 10_000)
        tokens = (
            spend * state["virtual_token_reserves"] // (state["virtual_quote_reserves"] + spend)
        )
        return int(min(tokens, state["real_token_reserves"]))

    def initial_curve(self, creator: Pubkey) -> dict[str, Any]:
        """The BondingCurve a `create_v2` by `creator` writes (Global's initial reserves)."""
        g = self._fields(GLOBAL, "Global", GLOBAL_LAYOUT)
        return {
            "virtual_token_reserves": g["initial_virtual_token_reserves"],
            "virtual_quote_reserves": g["initial_virtual_sol_reserves"],
            "real_token_reserves": g["initial_real_token_reserves"], "real_quote_reserves": 0,
            "token_total_supply": g["token_total_supply"], "complete": False, "creator": creator,
            "is_mayhem_mode": False, "is_cashback_coin": False, "quote_mint": ZERO,
            "creator_fee_bps": 0, "can_edit_creator_fee": False, "is_holder_reward": False,
        }  # fmt: skip

    def project_buy(self, state: dict[str, Any], lamports: int) -> tuple[int, dict[str, Any]]:
        """(tokens `lamports` buy on `state`, the curve after that buy): the program's math, for
        buys queued behind transactions that have not landed yet (the create's block)."""
        global_ = self._fields(GLOBAL, "Global", GLOBAL_LAYOUT)
        fee_config = self._fields(FEE_CONFIG, "FeeConfig", FEE_CONFIG_LAYOUT)
        rates = math.fee_rates(global_, fee_config, state)
        spend = (lamports - 1) * 10_000 // (rates.protocol_bps + rates.creator_bps + 10_000)
        vt, vq = int(state["virtual_token_reserves"]), int(state["virtual_quote_reserves"])
        tokens = int(min(spend * vt // (vq + spend), state["real_token_reserves"]))
        if tokens <= 0:
            return 0, state
        sol = math.buy_cost(state, tokens)
        after = dict(state)
        after["virtual_token_reserves"] = vt - tokens
        after["virtual_quote_reserves"] = vq + sol
        after["real_token_reserves"] = int(state["real_token_reserves"]) - tokens
        after["real_quote_reserves"] = int(state["real_quote_reserves"]) + sol
        after["complete"] = after["real_token_reserves"] == 0
        return tokens, after

    def create_transaction(self, creator: Keypair, mint: Keypair, *, name: str, symbol: str,
                           uri: str = "", cu_price: int = 0) -> VersionedTransaction:  # fmt: skip
        """A signed `create_v2` transaction, not sent (block building: the caller submits it)."""
        uri = uri or f"https://localnet.invalid/{mint.pubkey()}.json"
        ix = create_v2_instruction(mint.pubkey(), creator.pubkey(), creator.pubkey(), name, symbol,
                                   uri)  # fmt: skip
        return self._sign(creator, [*_budget(300_000, cu_price), ix], [mint])

    def buy_transaction(self, mint: Pubkey, creator: Pubkey, trader: Keypair, *, tokens: int,
                        max_lamports: int, cu_price: int = 0) -> VersionedTransaction:  # fmt: skip
        """A signed `buy_v2` of `tokens` for at most `max_lamports` (fees included), not sent;
        `creator` is the curve's creator (the creator vault), so the curve need not exist yet."""
        user = trader.pubkey()
        ixs = [
            *_budget(250_000, cu_price),
            tix.create_associated_token_account_idempotent(user, user, mint, TOKEN_2022_PROGRAM_ID),
            trade_v2_instruction("buy", mint, creator, user, tokens, max_lamports,
                                 self.rng.choice(FEE_RECIPIENTS),
                                 self.rng.choice(BUYBACK_FEE_RECIPIENTS)),
        ]  # fmt: skip
        return self._sign(trader, ixs, [])

    def _sign(self, payer: Keypair, ixs: list[Instruction],
              signers: list[Keypair]) -> VersionedTransaction:  # fmt: skip
        msg = MessageV0.try_compile(payer.pubkey(), ixs, [], self.bank.latest_blockhash())
        return VersionedTransaction(msg, [payer, *signers])

    # -- transactions ------------------------------------------------------------------------------
    def _send(self, what: str, payer: Keypair, ixs: list[Instruction],
              signers: list[Keypair]) -> str:  # fmt: skip
        msg = MessageV0.try_compile(payer.pubkey(), ixs, [], self.bank.latest_blockhash())
        outcome = self.bank.send_transaction(VersionedTransaction(msg, [payer, *signers]))
        if outcome.err is not None or not outcome.landed:
            raise LaunchError(what, outcome.err, tuple(outcome.logs))
        return str(outcome.signature)

    def launch(self, creator: Keypair, *, name: str, symbol: str, uri: str = "",
               dev_buy_lamports: int = 0, mint: Keypair | None = None,
               quote_mint: Pubkey | None = None, mayhem: bool = False,
               creator_fee_bps: int = 0) -> CurveLaunch:  # fmt: skip
        """`create_v2` (Token-2022 mint, 6 decimals), then the creator's dev buy of that many
        lamports (fees included) in the next transaction, as launch tools send them. With a
        non-SOL `quote_mint` the curve is quoted in it and the dev buy is in its base units
        (the creator must hold them)."""
        mint = mint or Keypair()
        uri = uri or f"https://localnet.invalid/{mint.pubkey()}.json"
        quote_program = tix.TOKEN_PROGRAM_ID
        if quote_mint is not None and not is_legacy_quote_mint(quote_mint):
            quote_account = self.bank.get_account(quote_mint)
            if quote_account is None:
                raise ValueError(f"no quote mint at {quote_mint}")
            quote_program = quote_account.owner
        ix = create_v2_instruction(mint.pubkey(), creator.pubkey(), creator.pubkey(), name, symbol,
                                   uri, quote_mint=quote_mint, quote_token_program=quote_program,
                                   mayhem=mayhem, creator_fee_bps=creator_fee_bps)  # fmt: skip
        create_sig = self._send("create_v2", creator, [set_compute_unit_limit(400_000), ix], [mint])
        dev_sig, dev_tokens = None, 0
        if dev_buy_lamports > 0:
            dev_tokens = self.quote_buy(mint.pubkey(), dev_buy_lamports)
            dev_sig = self.buy(mint.pubkey(), creator, lamports=dev_buy_lamports, tokens=dev_tokens)
        return CurveLaunch(mint.pubkey(), creator.pubkey(), bonding_curve_address(mint.pubkey()),
                           create_sig, dev_sig, dev_tokens)  # fmt: skip

    def buy(self, mint: Pubkey, trader: Keypair, *, lamports: int, tokens: int | None = None,
            slippage_bps: int = 100) -> str:  # fmt: skip
        """Spend up to `lamports` (+ slippage) on the tokens they buy now (a non-SOL curve: base
        units of its quote mint)."""
        tokens = self.quote_buy(mint, lamports) if tokens is None else tokens
        state = self.curve(mint)
        user = trader.pubkey()
        ixs = [
            set_compute_unit_limit(250_000),
            tix.create_associated_token_account_idempotent(user, user, mint, TOKEN_2022_PROGRAM_ID),
            trade_v2_instruction("buy", mint, state["creator"], user, tokens,
                                 lamports + lamports * slippage_bps // 10_000,
                                 self._fee_recipient(state),
                                 self.rng.choice(BUYBACK_FEE_RECIPIENTS),
                                 **self._quote_accounts(state)),
        ]  # fmt: skip
        return self._send("buy_v2", trader, ixs, [])

    def sell(self, mint: Pubkey, trader: Keypair, *, tokens: int, min_lamports: int = 0) -> str:
        state = self.curve(mint)
        ix = trade_v2_instruction("sell", mint, state["creator"], trader.pubkey(), tokens,
                                  min_lamports, self._fee_recipient(state),
                                  self.rng.choice(BUYBACK_FEE_RECIPIENTS),
                                  **self._quote_accounts(state))  # fmt: skip
        return self._send("sell_v2", trader, [set_compute_unit_limit(250_000), ix], [])

    def _fee_recipient(self, state: dict[str, Any]) -> Pubkey:
        """A fee recipient Global lists for this coin (the reserved ones for a mayhem coin)."""
        g = self._fields(GLOBAL, "Global", GLOBAL_LAYOUT)
        if state["is_mayhem_mode"]:
            return Pubkey.from_bytes(bytes(self.rng.choice(
                [g["reserved_fee_recipient"], *g["reserved_fee_recipients"]])))  # fmt: skip
        return self.rng.choice(FEE_RECIPIENTS)

    def _quote_accounts(self, state: dict[str, Any]) -> dict[str, Pubkey]:
        quote = state["quote_mint"]
        if is_legacy_quote_mint(quote):
            return {}
        account = self.bank.get_account(quote)
        program = account.owner if account is not None else tix.TOKEN_PROGRAM_ID
        return {"quote_mint": quote, "quote_token_program": program}

    def quote_mint_of(self, mint: Pubkey) -> Pubkey:
        """The curve's quote mint (WSOL for a SOL curve)."""
        quote = self.curve(mint)["quote_mint"]
        return tix.WSOL_MINT if is_legacy_quote_mint(quote) else Pubkey.from_bytes(bytes(quote))

    def configure(self, **fields: Any) -> dict[str, Any]:
        """Set `Global` fields as its authority's `set_params` would (`mayhem_mode_enabled`...)."""
        key = GLOBAL
        account = self.bank.get_account(key)
        g = self._fields(key, "Global", GLOBAL_LAYOUT)
        unknown = set(fields) - set(g)
        if unknown:
            raise ValueError(f"Global has no field {sorted(unknown)[0]!r}")
        g.update(fields)
        data = encode_account("Global", GLOBAL_LAYOUT, g, len(account.data))
        self._write(key, Account(account.lamports, data, account.owner, False, 0))
        return g

    def share_fees(self, mint: Pubkey, shareholders: list[tuple[Pubkey, int]],
                   admin: Pubkey | None = None) -> Pubkey:  # fmt: skip
        """Opt the coin into fee sharing, as pump-fees' `create_fee_sharing_config` +
        `update_fee_shares` leave it: an active `SharingConfig` listing `shareholders` (address,
        share in bps, summing to 10,000) and the curve's creator set to that config's PDA, so
        creator fees accrue to the config's creator vault. Returns the SharingConfig address."""
        if not shareholders or len(shareholders) > MAX_SHAREHOLDERS:
            raise ValueError(f"fee sharing takes 1..{MAX_SHAREHOLDERS} shareholders")
        if sum(bps for _, bps in shareholders) != 10_000 or any(b <= 0 for _, b in shareholders):
            raise ValueError("shareholders' share_bps must be positive and sum to 10,000")
        key, bump = Pubkey.find_program_address([b"sharing-config", bytes(mint)],
                                                PUMP_FEE_PROGRAM_ID)  # fmt: skip
        state = self.curve(mint)
        fields = {
            "bump": bump, "version": 1, "status": SHARING_ACTIVE, "mint": mint,
            "admin": admin or state["creator"], "admin_revoked": False,
            "shareholders": [{"address": a, "share_bps": b} for a, b in shareholders],
        }  # fmt: skip
        size = 8 + 1 + 1 + 1 + 32 + 32 + 1 + 4 + 34 * MAX_SHAREHOLDERS
        data = encode_account("SharingConfig", SHARING_CONFIG_LAYOUT, fields, size)
        rent = (128 + size) * 6_960  # the default Rent: rent-exempt minimum for `size` bytes
        self._write(key, Account(rent, data, PUMP_FEE_PROGRAM_ID, False, 0))
        self.set_curve(mint, creator=key)
        return key

    def set_curve(self, mint: Pubkey, **fields: Any) -> dict[str, Any]:
        """Rewrite BondingCurve fields (what admin instructions such as a CTO leave behind; e.g.
        `is_cashback_coin` for the cashback coins created before `create_v2` refused them)."""
        key = bonding_curve_address(mint)
        account = self.bank.get_account(key)
        state = self.curve(mint)
        unknown = set(fields) - set(state)
        if unknown:
            raise ValueError(f"BondingCurve has no field {sorted(unknown)[0]!r}")
        state.update(fields)
        data = encode_account("BondingCurve", BONDING_CURVE_LAYOUT, state, len(account.data))
        self._write(key, Account(account.lamports, data, account.owner, False, 0))
        return state

    def _write(self, key: Pubkey, account: Account) -> None:
        setter = getattr(self.bank, "set_account", None)
        if setter is None:
            raise ValueError("this bank cannot write accounts")
        setter(key, account)

    def graduate(self, mint: Pubkey, buyer: Keypair, migrator: Keypair | None = None) -> Graduation:
        """Complete the curve (`buyer` buys every token left, fees included) and migrate it to
        its canonical PumpSwap pool (`migrator`, default `buyer`, signs and pays the rent)."""
        from localnet.pumpswap.state import canonical_pool_address

        state = self.curve(mint)
        if not is_legacy_quote_mint(state["quote_mint"]):
            raise ValueError(f"graduating a curve quoted in {state['quote_mint']} is not "
                             "implemented on localnet (migrate moves SOL curves only)")  # fmt: skip
        complete_sig = None
        if not state["complete"]:
            tokens = int(state["real_token_reserves"])
            global_ = self._fields(GLOBAL, "Global", GLOBAL_LAYOUT)
            fee_config = self._fields(FEE_CONFIG, "FeeConfig", FEE_CONFIG_LAYOUT)
            rates = math.fee_rates(global_, fee_config, state)
            sol = math.buy_cost(state, tokens)
            cost = sol + math.fee(sol, rates.protocol_bps) + math.fee(sol, rates.creator_bps)
            complete_sig = self.buy(mint, buyer, lamports=cost, tokens=tokens, slippage_bps=0)
        migrator = migrator or buyer
        ixs = [set_compute_unit_limit(400_000), migrate_instruction(mint, migrator.pubkey())]
        migrate_sig = self._send("migrate", migrator, ixs, [])
        return Graduation(mint, canonical_pool_address(mint), complete_sig, migrate_sig)
