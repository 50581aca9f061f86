"""The pump.fun venue on coins quoted in a mint other than SOL.

Against the official SDK (tests/oracle/pump_quote.js): for random token-quoted curves (USDC's
stable tiers, exotic flat fees, SPL Token and Token-2022 quotes, mayhem / cashback / configured
creator fees) our quotes equal the SDK's math to the base unit and our `buy_v2` / `sell_v2` are
byte-identical to its raw and high-level builders. On localnet: the venue's own transactions buy
and sell a USDC coin with USDC to the base unit; a SOL order for it is refused with a sentence
naming USDC (pump.fun venue and router); the hot path skips a USDC launch with a logged reason
and leaves a filter snipe armed."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from solders.account import Account
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from localnet import pump
from localnet.cluster import Cluster
from localnet.pump import quotes as localnet_quotes
from localnet.pump import state as lstate
from localnet.pump.launchpad import PumpLaunchpad
from sniper_bot.chain.ws import Notification
from sniper_bot.detection.pumpfun import PumpFunListener
from sniper_bot.domain.fees import FeeLevel
from sniper_bot.domain.launch import LaunchFilter, SnipeStatus, SnipeTarget
from sniper_bot.domain.money import WSOL_MINT
from sniper_bot.domain.quotes import Quote
from sniper_bot.hotpath.book import ArmedBook
from sniper_bot.hotpath.build import PreparedBuy
from sniper_bot.hotpath.sniper import FiredSnipe, HotOrder, HotSniper
from sniper_bot.solana import pumpfun as pf
from sniper_bot.trading.errors import NoRouteError, TradingError
from sniper_bot.trading.venues.pumpfun import curve as math
from sniper_bot.trading.venues.pumpfun.errors import UnsupportedCurveError
from sniper_bot.trading.venues.pumpfun.venue import CurveState, PumpFunVenue, quote_from_state
from sniper_bot.trading.venues.router import VenueRouter

from . import oracle
from .oracle import b64, key
from .test_sdk_differential import Pick, Served, as_json

SCRIPT = Path(__file__).resolve().parents[2] / "oracle" / "pump_quote.js"
USDC = next(iter(pf.STABLE_QUOTE_MINTS))
CASES = 200
SEED = 20261204


def sdk(requests: list[dict[str, Any]]) -> list[Any]:
    if shutil.which("node") is None or not (SCRIPT.parent / "node_modules/@pump-fun").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("the pump.fun SDK oracle (node + tests/oracle/node_modules) is required")
        pytest.skip("the pump.fun SDK oracle is unavailable (run npm ci in tests/oracle)")
    done = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(requests), capture_output=True, text=True,
        timeout=600, check=False, env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"pump_quote.js failed: {done.stderr[-3000:]}")
    answers: list[Any] = json.loads(done.stdout)
    return answers


def make_case(rng: random.Random) -> dict[str, Any]:
    g = oracle.random_global(rng)
    fc = oracle.random_fee_config(rng)
    if fc is not None and rng.random() < 0.5:  # an exotic schedule set (else flat fees apply)
        fc["exotic_flat_fees"] = {"lp_fee_bps": 0, "protocol_fee_bps": rng.randrange(0, 200),
                                  "creator_fee_bps": rng.randrange(0, 200)}  # fmt: skip
    c = oracle.random_curve(rng)
    exotic = rng.random() < 0.5
    c["quote_mint"] = key() if exotic else USDC
    quote_program = (rng.choice((pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID)) if exotic
                     else pf.TOKEN_PROGRAM_ID)  # fmt: skip
    return {
        "global": oracle.encode_global(g),
        "fee_config": None if fc is None else oracle.encode_fee_config(fc),
        "curve": oracle.encode_curve(c, 151), "mint": key(), "user": key(),
        "token_program": rng.choice((pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID)),
        "quote_mint": c["quote_mint"], "quote_program": quote_program,
        "buy_units": rng.choice((rng.randrange(1, 10_000), rng.randrange(10**5, 10**11))),
        "sell_tokens": rng.randrange(1, 10**14), "slippage_bps": rng.randrange(0, 501) * 10,
    }  # fmt: skip


def state_of(case: dict[str, Any]) -> CurveState:
    fc = case["fee_config"]
    return CurveState(
        case["mint"], pf.decode_bonding_curve(case["curve"]), case["token_program"],
        pf.decode_global(case["global"]), None if fc is None else pf.decode_fee_config(fc),
        quote_token_program=case["quote_program"],
    )  # fmt: skip


def test_quotes_on_token_quoted_curves_equal_the_sdk_math() -> None:
    rng = random.Random(SEED)
    cases = [make_case(rng) for _ in range(CASES)]
    answers = sdk([{
        "op": "quote", "global": b64(c["global"]),
        "feeConfig": None if c["fee_config"] is None else b64(c["fee_config"]),
        "bondingCurve": b64(c["curve"]),
        "mintSupply": str(math.mint_supply_for(state_of(c).curve)),
        "buySol": str(c["buy_units"]), "sellTokens": str(c["sell_tokens"]),
    } for c in cases])  # fmt: skip
    kinds = set()
    for case, answer in zip(cases, answers, strict=True):
        st = state_of(case)
        rates = math.compute_fee_rates(st.global_, st.fee_config, math.mint_supply_for(st.curve),
                                       st.curve)  # fmt: skip
        assert (rates.protocol_bps, rates.creator_bps) == (
            int(answer["feesBps"]["protocolFeeBps"]),
            int(answer["feesBps"]["creatorFeeBps"]),
        )
        quote_mint = str(case["quote_mint"])
        kinds.add("usdc" if case["quote_mint"] == USDC else "exotic")
        try:
            q = quote_from_state(st, "buy", case["buy_units"], case["slippage_bps"],
                                 paid_mint=quote_mint)  # fmt: skip
        except TradingError:
            assert int(answer["buyTokens"]) <= 0
        else:
            assert (q.input_mint, q.output_mint) == (quote_mint, str(st.mint))
            assert (q.in_amount, q.out_amount) == (case["buy_units"], int(answer["buyTokens"]))
        if int(answer["sellSol"]) >= 0:
            q = quote_from_state(st, "sell", case["sell_tokens"], case["slippage_bps"],
                                 paid_mint=quote_mint)  # fmt: skip
            assert q.out_amount == int(answer["sellSol"])
            assert q.output_mint == quote_mint
    assert kinds == {"usdc", "exotic"}


def test_raw_buy_v2_sell_v2_with_a_quote_mint_are_byte_identical_to_the_sdk() -> None:
    rng = random.Random(SEED + 1)
    built: list[Instruction] = []
    requests: list[dict[str, Any]] = []
    for i in range(CASES):
        kind = ("buy_v2", "sell_v2")[i % 2]
        user, mint, creator = key(), key(), key()
        program = rng.choice((pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID))
        quote = USDC if rng.random() < 0.5 else key()
        quote_program = rng.choice((pf.TOKEN_PROGRAM_ID, pf.TOKEN_2022_PROGRAM_ID))
        recipient = rng.choice(pf.FEE_RECIPIENTS)
        buyback = rng.choice(pf.BUYBACK_FEE_RECIPIENTS)
        amount, limit = rng.randrange(0, 2**64), rng.randrange(0, 2**64)
        common: dict[str, Any] = {
            "user": user, "mint": mint, "creator": creator, "amount": amount,
            "fee_recipient": recipient, "buyback_fee_recipient": buyback,
            "token_program": program, "quote_mint": quote, "quote_token_program": quote_program,
        }  # fmt: skip
        if kind == "buy_v2":
            built.append(pf.buy_v2_instruction(max_sol_cost=limit, **common))
        else:
            built.append(pf.sell_v2_instruction(min_sol_output=limit, **common))
        requests.append({
            "op": "raw", "kind": kind, "user": str(user), "mint": str(mint),
            "creator": str(creator), "amount": str(amount), "limit": str(limit),
            "feeRecipient": str(recipient), "buybackFeeRecipient": str(buyback),
            "tokenProgram": str(program), "quoteMint": str(quote),
            "quoteTokenProgram": str(quote_program),
        })  # fmt: skip
    for ours, answer, req in zip(built, sdk(requests), requests, strict=True):
        assert as_json(ours) == answer, req


async def test_the_venue_builds_what_the_sdk_high_level_builders_build_for_quote_coins() -> None:
    rng = random.Random(SEED + 2)
    cases, quotes, requests = [], [], []
    for _ in range(CASES // 2):
        case = make_case(rng)
        st = state_of(case)
        for side in ("buy", "sell"):
            amount = case["buy_units"] if side == "buy" else case["sell_tokens"]
            try:
                q = quote_from_state(st, side, amount, case["slippage_bps"],
                                     paid_mint=str(case["quote_mint"]))  # fmt: skip
            except TradingError:
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
                "tokenProgram": str(case["token_program"]),
                "quoteTokenProgram": str(case["quote_program"]), "ataExists": False,
            })  # fmt: skip
    answers = sdk(requests)
    sides = set()
    for (case, side), q, answer in zip(cases, quotes, answers, strict=True):
        st = state_of(case)
        trade = answer[-1]
        picks = Pick(Pubkey.from_string(trade["keys"][6]["pubkey"]),
                     Pubkey.from_string(trade["keys"][8]["pubkey"]))  # fmt: skip
        accounts = {
            pf.bonding_curve_address(st.mint): Account(1, case["curve"], pf.PUMP_PROGRAM_ID),
            st.mint: Account(1, b"\0" * 82, st.token_program),
            case["quote_mint"]: Account(1, b"\0" * 82, case["quote_program"]),
            pf.GLOBAL: Account(1, case["global"], pf.PUMP_PROGRAM_ID),
        }
        if case["fee_config"] is not None:
            accounts[pf.FEE_CONFIG] = Account(1, case["fee_config"], pf.PUMP_FEE_PROGRAM_ID)
        venue = PumpFunVenue(Served(accounts), rng=picks)  # type: ignore[arg-type]
        quote_mint = str(case["quote_mint"])
        src, dst = (quote_mint, str(st.mint)) if side == "buy" else (str(st.mint), quote_mint)
        again = await venue.quote(src, dst, q.in_amount, case["slippage_bps"])
        assert again == q
        ours = venue.instructions(again, case["user"], None)[1:]
        assert [as_json(ix) for ix in ours] == answer, side
        sides.add(side)
    assert sides == {"buy", "sell"}


# ---- localnet ---------------------------------------------------------------------------------
class ClusterChain:
    """The RPC boundary over an in-process localnet cluster."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]:
        return [self.cluster.get_account(k) for k in pubkeys]

    async def recent_blockhash(self) -> tuple[Hash, int]:
        return self.cluster.latest_blockhash(), 10**9


def _usdc_coin(seed: int) -> tuple[Cluster, PumpLaunchpad, Pubkey]:
    cluster = Cluster(seed=seed, slot_ms=None)
    pump.install(cluster)
    pad = PumpLaunchpad(cluster, seed)
    creator = Keypair()
    cluster.airdrop(creator.pubkey(), 10 * 10**9)
    localnet_quotes.fund_quote(cluster, creator.pubkey(), 100 * 10**6)
    launch = pad.launch(creator, name="Dollar", symbol="DLR", quote_mint=lstate.USDC_MINT,
                        dev_buy_lamports=20 * 10**6)  # fmt: skip
    return cluster, pad, launch.mint


def _sign_and_send(cluster: Cluster, venue: PumpFunVenue, quote: Quote, user: Keypair) -> Any:
    from solders.message import MessageV0

    ixs = venue.instructions(quote, user.pubkey(), None)
    msg = MessageV0.try_compile(user.pubkey(), ixs, [], cluster.latest_blockhash())
    outcome = cluster.send_transaction(VersionedTransaction(msg, [user]))
    assert outcome.err is None, "\n".join(outcome.logs)
    return outcome


async def test_the_venue_buys_and_sells_a_usdc_coin_with_usdc_on_localnet() -> None:
    cluster, pad, mint = _usdc_coin(61)
    user = Keypair()
    cluster.airdrop(user.pubkey(), 10**9)
    localnet_quotes.fund_quote(cluster, user.pubkey(), 500 * 10**6)
    venue = PumpFunVenue(ClusterChain(cluster))  # type: ignore[arg-type]
    q = await venue.quote(str(USDC), str(mint), 100 * 10**6, 100)
    assert (q.input_mint, q.in_amount) == (str(USDC), 100 * 10**6)
    assert q.raw["quote_mint"] == str(USDC)
    _sign_and_send(cluster, venue, q, user)
    held = pad.token_balance(mint, user.pubkey())
    assert held == q.out_amount
    spent = 500 * 10**6 - localnet_quotes.quote_balance(cluster, user.pubkey())
    assert 0 < spent <= 100 * 10**6  # the quoted tokens cost no more than the order's USDC
    s = await venue.quote(str(mint), str(USDC), held, 100)
    before = localnet_quotes.quote_balance(cluster, user.pubkey())
    _sign_and_send(cluster, venue, s, user)
    assert localnet_quotes.quote_balance(cluster, user.pubkey()) - before == s.out_amount
    assert pad.token_balance(mint, user.pubkey()) == 0


class NoRoutes:
    """A Jupiter with no route for anything (the process boundary: its HTTP API)."""

    name = "jupiter"

    async def quote(self, *args: Any, **kwargs: Any) -> Quote:
        raise NoRouteError("no route")

    async def build_swap(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("nothing to build")


async def test_a_sol_order_for_a_usdc_coin_is_refused_with_a_sentence_naming_usdc() -> None:
    cluster, _, mint = _usdc_coin(62)
    venue = PumpFunVenue(ClusterChain(cluster))  # type: ignore[arg-type]
    with pytest.raises(UnsupportedCurveError) as caught:
        await venue.quote(WSOL_MINT, str(mint), 10**8, 100)
    sentence = caught.value.user_message
    assert f"USDC ({USDC})" in sentence
    assert "nothing was bought" in sentence
    with pytest.raises(UnsupportedCurveError):  # a sell for SOL: the same refusal
        await venue.quote(str(mint), WSOL_MINT, 10**6, 100)
    # through the router: Jupiter is asked (one atomic route would do), it has none: the
    # curve's sentence, not Jupiter's "no route"
    router = VenueRouter(NoRoutes(), pumpfun=venue)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedCurveError) as routed:
        await router.quote(WSOL_MINT, str(mint), 10**8, 100)
    assert routed.value.user_message == sentence


# ---- the hot path -----------------------------------------------------------------------------
class Collected:
    def __init__(self) -> None:
        self.shots: list[FiredSnipe] = []

    async def fired(self, fired: FiredSnipe) -> None:
        self.shots.append(fired)


class NeverSends:
    async def send(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a USDC launch must not be sent a SOL buy")


def _target(target_id: int, **selector: Any) -> SnipeTarget:
    now = datetime.now(UTC)
    return SnipeTarget(
        id=target_id, user_id=1, wallet_id=1, token_mint=selector.pop("token_mint", ""),
        amount_lamports=10**8, slippage_bps=500, priority_fee=FeeLevel.MEDIUM,
        status=SnipeStatus.ARMED, created_at=now, expires_at=now + timedelta(minutes=5),
        **selector,
    )  # fmt: skip


async def test_the_hot_path_skips_a_usdc_launch_and_keeps_a_filter_snipe_armed() -> None:
    cluster = Cluster(seed=63, slot_ms=None)
    pump.install(cluster)
    pad = PumpLaunchpad(cluster, 63)
    creator, mint_kp = Keypair(), Keypair()
    cluster.airdrop(creator.pubkey(), 10 * 10**9)
    g = pf.decode_global(bytes(cluster.get_account(pf.GLOBAL).data))  # type: ignore[union-attr]
    fc = pf.decode_fee_config(bytes(cluster.get_account(pf.FEE_CONFIG).data))  # type: ignore[union-attr]
    signer = Keypair()
    prepared = PreparedBuy(
        user=signer.pubkey(), sign=signer.sign_message, amount_lamports=10**8, slippage_bps=500,
        compute_unit_limit=120_000, compute_unit_price_micro_lamports=0,
        nonce_account=Pubkey.new_unique(), nonce_value=Hash.new_unique(), global_=g,
        fee_config=fc, fee_recipient=g.fee_recipients_for(False)[0],
        mayhem_fee_recipient=g.fee_recipients_for(True)[0],
        buyback_fee_recipient=g.buyback_fee_recipients[0],
    )  # fmt: skip
    book: ArmedBook[HotOrder] = ArmedBook()
    by_name = _target(1, launch_filter=LaunchFilter(name_contains=("Dollar",)))
    by_mint = _target(2, token_mint=str(mint_kp.pubkey()))
    book.add(by_name, HotOrder(prepared, mev_protect=False))
    book.add(by_mint, HotOrder(prepared, mev_protect=False))
    after = Collected()
    sniper = HotSniper(book, NeverSends(), after=after)  # type: ignore[arg-type]
    listener = PumpFunListener(on_create=sniper.on_create)
    launch = pad.launch(creator, name="Dollar", symbol="DLR", quote_mint=lstate.USDC_MINT,
                        mint=mint_kp)  # fmt: skip
    outcome = cluster.history.get(Signature.from_string(launch.create_signature))
    assert outcome is not None
    logs = list(outcome.logs)
    note = Notification("launch:pumpfun", "logsNotification", "local", cluster.slot,
                        {"signature": launch.create_signature, "err": None,
                         "logs": logs})  # fmt: skip
    listener.decode(note, time.monotonic())
    await sniper.wait_idle(5.0)
    assert sniper.fired_count == 0
    reasons = {shot.target.id: shot.refusal for shot in after.shots}
    assert set(reasons) == {2}  # the mint target ends with the reason; the filter is not told
    assert reasons[2] is not None
    assert "USDC" in reasons[2]
    assert "not SOL" in reasons[2]
    assert book.get(by_name.id) is not None  # still armed for the next SOL coin named Dollar
    assert book.get(by_mint.id) is None


def test_the_token_card_shows_the_quote_mint_of_a_usdc_curve() -> None:
    from sniper_bot.control.views import RiskView, TokenCardView
    from sniper_bot.telegram.render import render_token_card

    risk = RiskView(score=10, blocked=False, is_honeypot=False, overridable=True, findings=())
    view = TokenCardView(
        mint=str(Keypair().pubkey()), name="Dollar", symbol="DLR", decimals=6,
        token_program="token-2022", tokens_per_sol=None, price_impact_pct=None, risk=risk,
        presets_lamports=(10**8,), curve_progress_bps=120, curve_quote_mint=str(USDC),
    )  # fmt: skip
    text = render_token_card(view)
    assert f"Priced in: USDC ({USDC})" in text
    assert "Market cap" not in text  # no SOL market cap for a curve priced in USDC
