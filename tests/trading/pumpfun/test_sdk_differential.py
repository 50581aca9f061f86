"""The pump.fun venue against the official SDK (@pump-fun/pump-sdk 2.0.0, tests/oracle):
for hundreds of seeded random curves, fee configurations, sizes and slippages our quotes equal the
SDK's math to the base unit and our instructions are byte-identical to its builders."""

from __future__ import annotations

import base64
import random
from collections.abc import Sequence
from typing import Any

from solders.account import Account
from solders.hash import Hash
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.solana import pumpfun as pf
from sniper_bot.trading.errors import TradingError
from sniper_bot.trading.venues.pumpfun import curve as math
from sniper_bot.trading.venues.pumpfun.venue import CurveState, PumpFunVenue, quote_from_state

from . import oracle
from .oracle import b64, key

CASES = 300
SEED = 20260514


def as_json(ix: Instruction) -> dict[str, Any]:
    return {
        "programId": str(ix.program_id),
        "keys": [
            {"pubkey": str(m.pubkey), "isSigner": m.is_signer, "isWritable": m.is_writable}
            for m in ix.accounts
        ],
        "data": base64.b64encode(bytes(ix.data)).decode(),
    }


class Served:
    """The RPC boundary: account bytes served as getMultipleAccounts would."""

    def __init__(self, accounts: dict[Pubkey, Account]) -> None:
        self.accounts = accounts

    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]:
        return [self.accounts.get(k) for k in pubkeys]

    async def recent_blockhash(self) -> tuple[Hash, int]:
        return Hash.default(), 1_000


class Pick:
    """An rng whose choice is the SDK's own pick (and proves it is one we would make)."""

    def __init__(self, *wanted: Pubkey) -> None:
        self.wanted = list(wanted)

    def choice(self, seq: Sequence[Pubkey]) -> Pubkey:
        want = self.wanted.pop(0)
        assert want in seq, f"the SDK picked {want}, which the venue would never choose"
        return want


def make_case(rng: random.Random) -> dict[str, Any]:
    g = oracle.random_global(rng)
    fc = oracle.random_fee_config(rng)
    c = oracle.random_curve(rng)
    return {
        "global": oracle.encode_global(g),
        "fee_config": None if fc is None else oracle.encode_fee_config(fc),
        "curve": oracle.encode_curve(c, rng.choice((125, 151, 124, 115))),
        "mint": key(), "user": key(),
        "token_program": rng.choice((pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID)),
        "buy_lamports": rng.choice((rng.randrange(1, 10_000), rng.randrange(10**5, 10**11))),
        "sell_tokens": rng.randrange(1, 10**14),
        "slippage_bps": rng.randrange(0, 501) * 10,
    }  # fmt: skip


def state_of(case: dict[str, Any]) -> CurveState:
    fc = case["fee_config"]
    return CurveState(
        case["mint"], pf.decode_bonding_curve(case["curve"]), case["token_program"],
        pf.decode_global(case["global"]), None if fc is None else pf.decode_fee_config(fc),
    )  # fmt: skip


def test_quotes_equal_the_sdk_math_to_the_base_unit() -> None:
    rng = random.Random(SEED)
    cases = [make_case(rng) for _ in range(CASES)]
    requests = []
    for case in cases:
        st = state_of(case)
        requests.append({
            "op": "quote", "global": b64(case["global"]),
            "feeConfig": None if case["fee_config"] is None else b64(case["fee_config"]),
            "bondingCurve": b64(case["curve"]), "mintSupply": str(math.mint_supply_for(st.curve)),
            "buySol": str(case["buy_lamports"]), "sellTokens": str(case["sell_tokens"]),
        })  # fmt: skip
    answers = oracle.call(requests)
    tiers_seen = set()
    for case, sdk in zip(cases, answers, strict=True):
        st = state_of(case)
        g, fc, c = st.global_, st.fee_config, st.curve
        supply = math.mint_supply_for(c)
        rates = math.compute_fee_rates(g, fc, supply, c)
        assert (rates.protocol_bps, rates.creator_bps) == (
            int(sdk["feesBps"]["protocolFeeBps"]),
            int(sdk["feesBps"]["creatorFeeBps"]),
        )
        tiers_seen.add((rates.protocol_bps, rates.creator_bps))
        tokens = math.buy_tokens_for_sol(g, fc, supply, c, case["buy_lamports"])
        assert tokens == int(sdk["buyTokens"])
        assert math.buy_sol_for_tokens(g, fc, supply, c, tokens) == int(sdk["buySolCost"])
        assert math.sell_sol_for_tokens(g, fc, supply, c, case["sell_tokens"]) == int(
            sdk["sellSol"]
        )
        if tokens > 0:  # what the venue quotes is that same math
            q = quote_from_state(st, "buy", case["buy_lamports"], case["slippage_bps"])
            assert (q.in_amount, q.out_amount) == (case["buy_lamports"], int(sdk["buyTokens"]))
        sold = int(sdk["sellSol"])
        if sold >= 0:
            q = quote_from_state(st, "sell", case["sell_tokens"], case["slippage_bps"])
            assert q.out_amount == sold
    assert len(tiers_seen) > CASES // 3  # the random fee tiers really vary


def test_raw_instructions_are_byte_identical_to_the_sdk_builders() -> None:
    rng = random.Random(SEED + 1)
    built: list[Instruction] = []
    requests: list[dict[str, Any]] = []
    for i in range(CASES):
        kind = ("buy_v2", "sell_v2", "buy", "sell")[i % 4]
        user, mint, creator = key(), key(), key()
        program = rng.choice((pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID))
        recipient = rng.choice(pf.FEE_RECIPIENTS)
        buyback = rng.choice(pf.BUYBACK_FEE_RECIPIENTS)
        amount, limit = rng.randrange(0, 2**64), rng.randrange(0, 2**64)
        cashback = kind == "sell" and rng.random() < 0.5
        common: dict[str, Any] = {
            "user": user, "mint": mint, "creator": creator, "amount": amount,
            "fee_recipient": recipient, "buyback_fee_recipient": buyback,
            "token_program": program,
        }  # fmt: skip
        if kind == "buy_v2":
            built.append(pf.buy_v2_instruction(max_sol_cost=limit, **common))
        elif kind == "sell_v2":
            built.append(pf.sell_v2_instruction(min_sol_output=limit, **common))
        elif kind == "buy":
            built.append(pf.buy_instruction(max_sol_cost=limit, **common))
        else:
            built.append(pf.sell_instruction(min_sol_output=limit, cashback=cashback, **common))
        requests.append({
            "op": "raw", "kind": kind, "user": str(user), "mint": str(mint),
            "creator": str(creator), "amount": str(amount), "limit": str(limit),
            "feeRecipient": str(recipient), "buybackFeeRecipient": str(buyback),
            "tokenProgram": str(program), "cashback": cashback,
        })  # fmt: skip
    answers = oracle.call(requests)
    for ours, sdk, req in zip(built, answers, requests, strict=True):
        assert as_json(ours) == sdk, req["kind"]
    counts = {
        len(ix.accounts) for ix, r in zip(built, requests, strict=True) if r["kind"] == "buy_v2"
    }
    assert counts == {27}
    counts = {
        len(ix.accounts) for ix, r in zip(built, requests, strict=True) if r["kind"] == "sell_v2"
    }
    assert counts == {26}


async def test_the_venue_builds_what_the_sdk_high_level_builders_build() -> None:
    """buyV2Instructions / sellV2Instructions from the same curve, amounts and slippage: the ATA
    create and the trade instruction are the venue's, byte for byte (the SDK's random fee
    recipients handed to the venue, after checking the venue would pick from the same lists)."""
    rng = random.Random(SEED + 2)
    cases, quotes, requests = [], [], []
    for _ in range(CASES // 2):
        case = make_case(rng)
        st = state_of(case)
        for side in ("buy", "sell"):
            amount = case["buy_lamports"] if side == "buy" else case["sell_tokens"]
            try:
                q = quote_from_state(st, side, amount, case["slippage_bps"])
            except TradingError:  # a dust buy buys nothing: not this test's subject
                continue
            cases.append((case, side))
            quotes.append(q)
            sdk_amount, sdk_quote = (
                (q.out_amount, q.in_amount) if side == "buy" else (q.in_amount, q.out_amount)
            )
            requests.append({
                "op": "high", "kind": f"{side}_v2", "global": b64(case["global"]),
                "bondingCurve": b64(case["curve"]), "user": str(case["user"]),
                "mint": str(case["mint"]), "amount": str(sdk_amount),
                "quoteAmount": str(sdk_quote), "slippage": case["slippage_bps"] / 100,
                "tokenProgram": str(case["token_program"]), "ataExists": False,
            })  # fmt: skip
    answers = oracle.call(requests)
    sides = set()
    for (case, side), q, sdk in zip(cases, quotes, answers, strict=True):
        st = state_of(case)
        sdk_trade = sdk[-1]
        picks = Pick(
            Pubkey.from_string(sdk_trade["keys"][6]["pubkey"]),
            Pubkey.from_string(sdk_trade["keys"][8]["pubkey"]),
        )
        accounts = {
            pf.bonding_curve_address(st.mint): Account(1, case["curve"], pf.PUMP_PROGRAM_ID),
            st.mint: Account(1, b"\0" * 82, st.token_program),
            pf.GLOBAL: Account(1, case["global"], pf.PUMP_PROGRAM_ID),
        }
        if case["fee_config"] is not None:
            accounts[pf.FEE_CONFIG] = Account(1, case["fee_config"], pf.PUMP_FEE_PROGRAM_ID)
        venue = PumpFunVenue(Served(accounts), rng=picks)  # type: ignore[arg-type]
        src, dst = (WSOL_MINT, str(st.mint)) if side == "buy" else (str(st.mint), WSOL_MINT)
        again = await venue.quote(src, dst, q.in_amount, case["slippage_bps"])
        assert again == q
        ours = venue.instructions(again, case["user"], None)[1:]  # after the compute-unit limit
        assert [as_json(ix) for ix in ours] == sdk, side
        sides.add(side)
    assert sides == {"buy", "sell"}
