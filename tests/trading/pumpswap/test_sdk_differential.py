"""Our PumpSwap venue against the official `@pump-fun/pump-swap-sdk` 1.20.0, over many seeded random
pool states (vault balances, signed `virtual_quote_reserves`, every mainnet fee tier, flat-fee
non-pump pools, GlobalConfig rates without a FeeConfig, USDC and exotic quotes, mayhem and
cashback pools, configured creator fees, pools without a coin creator, short pools that need
`extend_account`, user token accounts present or not), sizes and slippages:

* our decoders read the same accounts the SDK decodes, and the venue's quotes equal the SDK's
  `buyBaseInput` / `buyQuoteInput` / `sellBaseInput` and `computeFeesBps` to the base unit
  (refusing exactly the inputs the SDK refuses);
* the instructions the venue builds from its own quote are the SDK's, byte for byte: the same
  programs, accounts in the same order with the same signer/writable flags, the same data
  (`buyInstructions`, `sellInstructions`, the buy list with `buy_exact_quote_in` data), with the
  SDK's random fee-recipient choice pinned to ours;
* the PDAs (canonical pool, pool-v2, coin-creator vault and its ATA, volume accumulators, config
  accounts) are the SDK's.
"""

from __future__ import annotations

import base64
import random
import struct
from dataclasses import dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.pump.state import FEE_CONFIG_LAYOUT, RESERVED_FEE_RECIPIENTS
from localnet.pumpswap import state as lstate
from sniper_bot.domain.orders import OrderErrorType
from sniper_bot.solana import pumpswap as ps
from sniper_bot.trading.errors import NoRouteError
from sniper_bot.trading.venues.pumpswap import PoolState, PumpSwapVenue
from sniper_bot.trading.venues.pumpswap.venue import swap_accounts_for, swap_instructions_for

from .oracle import ask, ensure_installed

CASES = 400
SOL = 1_000_000_000
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022 = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ZERO = Pubkey.default()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def mint_data(supply: int, decimals: int) -> bytes:
    return struct.pack("<I32sQBBI32s", 0, bytes(32), supply, decimals, 1, 0, bytes(32))


def key() -> Pubkey:
    return Keypair().pubkey()


@dataclass
class Case:
    state: dict[str, Any]  # the SDK's offline swap state (tests/oracle/pumpswap.js)
    pool_state: PoolState
    configs: tuple[ps.GlobalConfig, ps.FeeConfig | None]
    user: Pubkey
    user_base_exists: bool
    user_quote_exists: bool
    sizes: dict[str, int]
    slippage_bps: int
    kind: str


def random_case(rng: random.Random) -> Case:
    config = lstate.genesis_global_config()
    config["reserved_fee_recipient"] = RESERVED_FEE_RECIPIENTS[0]
    config["lp_fee_basis_points"] = rng.choice([20, 25, 0])
    config["protocol_fee_basis_points"] = rng.choice([5, 10, 93])
    config["coin_creator_fee_basis_points"] = rng.choice([5, 0, 30])
    config["creator_fee_configurable"] = rng.random() < 0.5
    global_data = lstate.encode_account("GlobalConfig", lstate.GLOBAL_CONFIG_LAYOUT, config,
                                        lstate.GLOBAL_CONFIG_SIZE)  # fmt: skip
    fee_data = None
    if rng.random() >= 0.15:
        fee_data = lstate.encode_account(
            "FeeConfig", FEE_CONFIG_LAYOUT, lstate.genesis_fee_config(), lstate.FEE_CONFIG_SIZE
        )

    base_mint = key()
    quote_mint = rng.choices([lstate.WSOL_MINT, ps.USDC_MINT, key()], [8, 1, 1])[0]
    canonical = rng.random() < 0.85
    creator = ps.pump_pool_authority(base_mint) if canonical else key()
    pool_key = ps.pool_address(0, creator, base_mint, quote_mint)
    base_program = rng.choice([TOKEN_2022, TOKEN])
    base_reserve = rng.randrange(10**9, 10**15)
    quote_reserve = rng.randrange(SOL, 800 * SOL)
    if rng.random() < 0.05:  # tiny, huge and empty quote vaults
        quote_reserve = rng.choice([rng.randrange(10**6, 2_000 * SOL), rng.randrange(1, 10**6), 0])
    virtual = rng.choice([0, rng.randrange(1, 100 * SOL), -rng.randrange(0, max(1, quote_reserve))])
    data_len = rng.choices([300, 245, 261, 271], [8, 1, 1, 1])[0]
    if data_len < 261:
        virtual = 0  # the field is past the end of a 245-byte pool: it reads as 0 on both sides
    fields = {
        "pool_bump": 255, "index": 0, "creator": creator, "base_mint": base_mint,
        "quote_mint": quote_mint, "lp_mint": key(),
        "pool_base_token_account": ps.associated_token_address(pool_key, base_mint, base_program),
        "pool_quote_token_account": ps.associated_token_address(pool_key, quote_mint, TOKEN),
        "lp_supply": rng.randrange(1, 10**12),
        "coin_creator": key() if rng.random() < 0.85 else ZERO,
        "is_mayhem_mode": rng.random() < 0.15, "is_cashback_coin": rng.random() < 0.15,
        "virtual_quote_reserves": virtual,
        "creator_fee_bps": rng.choice([0, 0, rng.randrange(1, 301)]) if data_len > 261 else 0,
        "can_edit_creator_fee": False, "is_holder_reward": False,
    }  # fmt: skip
    pool_data = lstate.encode_account("Pool", lstate.POOL_LAYOUT, fields, 300)[:data_len]
    supply = rng.randrange(base_reserve, 2 * 10**15)
    base_mint_data = mint_data(supply, 6)
    user = key()
    user_base_exists, user_quote_exists = rng.random() < 0.3, rng.random() < 0.3

    def token(mint: Pubkey, owner: Pubkey, amount: int, program: Pubkey) -> dict[str, str]:
        native = 2_039_280 if mint == lstate.WSOL_MINT else None
        return {"data": b64(lstate.token_account_data(mint, owner, amount, native)),
                "owner": str(program)}  # fmt: skip

    accounts = {
        "globalConfig": {"data": b64(global_data), "owner": str(ps.PUMP_AMM_PROGRAM_ID)},
        "feeConfig": None if fee_data is None else {"data": b64(fee_data),
                                                    "owner": str(ps.PUMP_FEE_PROGRAM_ID)},
        "pool": {"data": b64(pool_data), "owner": str(ps.PUMP_AMM_PROGRAM_ID)},
        "baseMint": {"data": b64(base_mint_data), "owner": str(base_program)},
        "poolBase": token(base_mint, pool_key, base_reserve, base_program),
        "poolQuote": token(quote_mint, pool_key, quote_reserve, TOKEN),
        "userBase": token(base_mint, user, 5, base_program) if user_base_exists else None,
        "userQuote": token(quote_mint, user, 0, TOKEN) if user_quote_exists else None,
    }  # fmt: skip
    # our side reads the same bytes with our decoders
    global_config = ps.decode_global_config(global_data)
    fee_config = None if fee_data is None else ps.decode_fee_config(fee_data)
    pool = ps.decode_pool(pool_data)
    pool_state = PoolState(pool_key, pool, base_reserve, quote_reserve,
                           ps.mint_supply(base_mint_data), base_program, TOKEN)  # fmt: skip
    scale = rng.choice([10**3, 10**6, 10**9])
    sizes = {
        "buyBase": rng.randrange(1, max(2, base_reserve // rng.choice([2, 10, 1_000, 10**5])))
        if rng.random() < 0.95 else base_reserve + rng.randrange(0, 10),
        "buyQuote": rng.randrange(1, 100 * SOL) // scale * rng.randrange(1, scale),
        "sellBase": rng.randrange(1, max(2, base_reserve // rng.choice([1, 10, 1_000, 10**5]))),
    }  # fmt: skip
    slippage_bps = rng.choice([0, 1, 6, 50, 100, 250, 333, 500, 1_000, 2_500, 4_999])
    kind = rng.choice(["buy", "buy_exact_quote_in", "sell"])
    return Case({"pool": str(pool_key), "user": str(user), "accounts": accounts}, pool_state,
                (global_config, fee_config), user, user_base_exists, user_quote_exists, sizes,
                slippage_bps, kind)  # fmt: skip


def ix_json(ix: Any) -> dict[str, Any]:
    return {
        "programId": str(ix.program_id),
        "keys": [{"pubkey": str(m.pubkey), "isSigner": m.is_signer, "isWritable": m.is_writable}
                 for m in ix.accounts],
        "data": b64(bytes(ix.data)),
    }  # fmt: skip


def pinned(choice: Pubkey, among: tuple[Pubkey, ...]) -> float:
    """The Math.random() value that makes the SDK pick `choice` (floor(r * n) == its index)."""
    return (among.index(choice) + 0.5) / len(among)


def test_quotes_and_instructions_equal_the_sdk() -> None:
    ensure_installed()
    rng = random.Random(20_260_914)
    venue = PumpSwapVenue(rpc=None, rng=random.Random(7))  # type: ignore[arg-type]  # no reads
    cases = [random_case(rng) for _ in range(CASES)]
    quotes: list[Any] = []
    requests: list[dict[str, Any]] = []
    for c in cases:
        buy, mode = c.kind != "sell", "ExactOut" if c.kind == "buy" else "ExactIn"
        size = c.sizes[{"buy": "buyBase", "buy_exact_quote_in": "buyQuote",
                        "sell": "sellBase"}[c.kind]]  # fmt: skip
        try:
            quote = venue.price(c.pool_state, c.configs, buy=buy, amount=size,
                                slippage_bps=c.slippage_bps, swap_mode=mode)  # fmt: skip
        except NoRouteError as exc:
            quote = exc
        quotes.append(quote)
        request: dict[str, Any] = {
            "state": c.state, "slippageBps": c.slippage_bps, "quote": {k: str(v) for k, v in
                                                                       c.sizes.items()},
            "pdas": {"mint": str(c.pool_state.pool.base_mint), "user": str(c.user),
                     "coinCreator": str(c.pool_state.pool.coin_creator)},
        }  # fmt: skip
        if not isinstance(quote, NoRouteError):
            raw = quote.raw
            config = c.configs[0]
            request["build"] = {
                "kind": c.kind, "amount": raw["amount"], "limit": raw["limit"],
                "random": [
                    pinned(Pubkey.from_string(raw["protocol_fee_recipient"]),
                           config.fee_recipients(c.pool_state.pool.is_mayhem_mode)),
                    pinned(Pubkey.from_string(raw["buyback_fee_recipient"]),
                           config.buyback_fee_recipients),
                ],
            }  # fmt: skip
        requests.append(request)
    answers = ask(requests)

    seen = {"built": 0, "refused": 0, "extend": 0, "tiers": set(), "kinds": set()}
    for i, (c, quote, sdk) in enumerate(zip(cases, quotes, answers, strict=True)):
        _check_pdas(c, sdk["pdas"])
        _check_math(i, c, sdk)
        if isinstance(quote, NoRouteError):
            seen["refused"] += 1
            assert quote.error_type is OrderErrorType.INSUFFICIENT_LIQUIDITY, (i, quote)
            key = {"buy": "buyBase", "buy_exact_quote_in": "buyQuote", "sell": "sellBase"}[c.kind]
            refused = key in sdk.get("quoteError", {})
            nothing = key in sdk.get("quote", {}) and int(sdk["quote"][key].get(
                "base", sdk["quote"][key].get("uiQuote", "1"))) <= 0  # fmt: skip
            assert refused or nothing, (i, c.kind, quote, sdk)
            continue
        _check_quote(i, c, quote, sdk)
        assert "buildError" not in sdk, (i, sdk["buildError"])
        assert sdk["randomLeft"] == 0
        raw = quote.raw
        ours = ps.swap_instructions(
            raw["kind"], swap_accounts_for(raw, c.user), int(raw["amount"]), int(raw["limit"]),
            pool_data_len=int(raw["pool_data_len"]), user_base_exists=c.user_base_exists,
            user_quote_exists=c.user_quote_exists,
        )  # fmt: skip
        assert [ix_json(ix) for ix in ours] == sdk["instructions"], (i, c.kind)
        if not (c.user_base_exists or c.user_quote_exists):  # what build_swap sends, as is
            assert [ix_json(ix) for ix in swap_instructions_for(raw, c.user)] == sdk["instructions"]
        seen["built"] += 1
        seen["extend"] += c.pool_state.pool.data_len < ps.POOL_ACCOUNT_NEW_SIZE
        seen["kinds"].add(c.kind)
        seen["tiers"].add(tuple(raw["fees_bps"]))
    # the random states reached what they are meant to reach
    assert seen["built"] >= CASES * 3 // 4, seen
    assert seen["refused"] >= 3, seen
    assert seen["extend"] >= 10, seen
    assert seen["kinds"] == {"buy", "buy_exact_quote_in", "sell"}
    assert len(seen["tiers"]) >= 12, seen["tiers"]


def _check_pdas(c: Case, pdas: dict[str, str]) -> None:
    pool = c.pool_state.pool
    assert pdas["pool"] == str(ps.canonical_pool_address(pool.base_mint))
    assert pdas["poolAuthority"] == str(ps.pump_pool_authority(pool.base_mint))
    assert pdas["poolV2"] == str(ps.pool_v2_address(pool.base_mint))
    assert pdas["userVolumeAccumulator"] == str(ps.user_volume_accumulator(c.user))
    assert pdas["coinCreatorVaultAuthority"] == str(
        ps.coin_creator_vault_authority(pool.coin_creator)
    )
    assert pdas["coinCreatorVaultAta"] == str(
        ps.coin_creator_vault_ata(pool.coin_creator, ps.NATIVE_MINT, TOKEN)
    )
    assert pdas["globalConfig"] == str(ps.GLOBAL_CONFIG)
    assert pdas["feeConfig"] == str(ps.FEE_CONFIG)
    assert pdas["eventAuthority"] == str(ps.EVENT_AUTHORITY)
    assert pdas["globalVolumeAccumulator"] == str(ps.GLOBAL_VOLUME_ACCUMULATOR)


def _check_math(i: int, c: Case, sdk: dict[str, Any]) -> None:
    """Each of the three quote functions on this state, refusals included."""
    s = c.pool_state
    global_config, fee_config = c.configs
    fees = ps.compute_fees_bps(global_config, fee_config, s.pool, s.base_mint_supply,
                               s.base_reserve, s.effective_quote_reserve)  # fmt: skip
    if "feesBps" in sdk:
        assert [fees.lp_bps, fees.protocol_bps, fees.creator_bps] == [
            int(sdk["feesBps"][k]) for k in ("lpFeeBps", "protocolFeeBps", "creatorFeeBps")
        ], i
        assert int(sdk["effectiveQuoteReserve"]) == s.effective_quote_reserve
    args = (c.slippage_bps, s.base_reserve, s.quote_reserve, s.pool.virtual_quote_reserves, fees)
    creator = s.pool.has_coin_creator
    functions = {"buyBase": ps.buy_base_input, "buyQuote": ps.buy_quote_input,
                 "sellBase": ps.sell_base_input}  # fmt: skip
    fields = {
        "buyBase": {"internalQuoteAmount": "internal_quote_amount", "uiQuote": "ui_quote",
                    "maxQuote": "max_quote"},
        "buyQuote": {"base": "base", "internalQuoteWithoutFees": "internal_quote_without_fees",
                     "maxQuote": "max_quote"},
        "sellBase": {"uiQuote": "ui_quote", "minQuote": "min_quote",
                     "internalQuoteAmountOut": "internal_quote_amount_out"},
    }  # fmt: skip
    for name, size in c.sizes.items():
        try:
            ours = functions[name](size, *args, coin_creator=creator)  # type: ignore[operator]
        except ps.QuoteError:
            ours = None
        if ours is None:
            assert name in sdk.get("quoteError", {}), (i, name, sdk.get("quote"))
            continue
        assert name in sdk.get("quote", {}), (i, name, sdk.get("quoteError"))
        for theirs, mine in fields[name].items():
            assert int(sdk["quote"][name][theirs]) == getattr(ours, mine), (i, name, theirs)


def _check_quote(i: int, c: Case, quote: Any, sdk: dict[str, Any]) -> None:
    """The venue's quote carries the SDK's numbers into the instruction's amount and limit."""
    q = sdk["quote"]
    raw = quote.raw
    if c.kind == "buy":
        assert (quote.out_amount, quote.in_amount) == (c.sizes["buyBase"],
                                                       int(q["buyBase"]["uiQuote"]))  # fmt: skip
        assert int(raw["limit"]) == quote.other_amount_threshold == int(q["buyBase"]["maxQuote"])
    elif c.kind == "buy_exact_quote_in":
        base = int(q["buyQuote"]["base"])
        assert (quote.in_amount, quote.out_amount) == (c.sizes["buyQuote"], base), i
        factor = ps.slippage_factor(c.slippage_bps, up=False)
        assert int(raw["limit"]) == quote.other_amount_threshold == base * factor // 10**9
        assert quote.other_amount_threshold <= base
    else:
        assert quote.in_amount == c.sizes["sellBase"]
        assert quote.out_amount == int(q["sellBase"]["uiQuote"]), i
        assert int(raw["limit"]) == quote.other_amount_threshold == int(q["sellBase"]["minQuote"])
