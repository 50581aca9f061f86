"""pump.fun coins quoted in a mint other than SOL, and the fee features of the IDL (mayhem,
cashback, fee sharing), checked against the official SDK (tests/oracle/pump_quote.js).

Every transaction here is built by the SDK's own builders (`createV2Instruction` with a quote
mint, `getBuyV2InstructionRaw` / `getSellV2InstructionRaw` with the quote mint and program,
`buyV2Instructions` / `sellV2Instructions` from decoded accounts); they land on localnet and every
quote-token amount equals the SDK's math (`bondingCurve.ts`, `fees.ts`) to the base unit."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import select
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from typing import IO, Any

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet import pump
from localnet.cluster import Cluster
from localnet.encoding import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from localnet.history import TxOutcome
from localnet.market.instructions import associated_token_address
from localnet.pump import quotes, state
from localnet.pump.launchpad import PumpLaunchpad
from localnet.testing import running_localnet

from .helpers import SOL, funded, token_balance
from .oracle import ORACLE_DIR, Oracle, b64

SCRIPT = ORACLE_DIR / "pump_quote.js"
USDC = state.USDC_MINT
VIRTUAL_TOKEN_GAP = state.INITIAL_VIRTUAL_TOKEN_RESERVES - state.INITIAL_REAL_TOKEN_RESERVES
UNSOLD = state.TOKEN_TOTAL_SUPPLY - state.INITIAL_REAL_TOKEN_RESERVES
USDC_UNIT = 1_000_000


class _Sdk:
    """tests/oracle/pump_quote.js (the official SDK) in `--serve` mode: one `node` process for the
    module, one JSON request per line in and one answer per line out, so the SDK loads once rather
    than once per call. Calls are serialized (one test thread plus `asyncio.to_thread`)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> Any:
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                if self._stderr is not None:
                    self._stderr.close()
                self._stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in close())
                proc = self._proc = subprocess.Popen(
                    ["node", str(SCRIPT), "--serve"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                    env={**os.environ, "NODE_NO_WARNINGS": "1"},
                )  # fmt: skip
            assert proc.stdin is not None
            assert proc.stdout is not None
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            ready, _, _ = select.select([proc.stdout], [], [], 300)
            line = proc.stdout.readline() if ready else ""
            if not line:
                proc.kill()
                code = proc.wait()
                self._proc = None
                raise RuntimeError(f"pump_quote.js died or hung ({code}): {self._err()}")
            reply = json.loads(line)
            if "error" in reply:
                raise RuntimeError(f"pump_quote.js failed: {reply['error'][-3000:]}")
            return reply["ok"]

    def _err(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-3000:]

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                assert proc.stdin is not None
                proc.stdin.close()  # end of input: the server answers what it has and exits
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None


sdk = _Sdk()


@pytest.fixture(autouse=True, scope="module")
def _sdk_server() -> Iterator[None]:
    yield
    sdk.close()


@pytest.fixture(autouse=True)
def _needs_oracle(oracle: Oracle) -> None:
    del oracle  # the session fixture installs the SDK (or skips / fails as the suite does)


def _ix(answer: dict[str, Any]) -> Instruction:
    metas = [AccountMeta(Pubkey.from_string(k["pubkey"]), k["isSigner"], k["isWritable"])
             for k in answer["keys"]]  # fmt: skip
    return Instruction(Pubkey.from_string(answer["programId"]), base64.b64decode(answer["data"]),
                       metas)  # fmt: skip


def _send(cluster: Cluster, payer: Keypair, ixs: list[Instruction],
          signers: list[Keypair] | None = None) -> TxOutcome:  # fmt: skip
    from solders.compute_budget import set_compute_unit_limit

    msg = MessageV0.try_compile(payer.pubkey(), [set_compute_unit_limit(400_000), *ixs], [],
                                cluster.latest_blockhash())  # fmt: skip
    outcome = cluster.send_transaction(VersionedTransaction(msg, [payer, *(signers or [])]))
    assert outcome.landed, outcome.err
    return outcome


def _ok(outcome: TxOutcome) -> TxOutcome:
    assert outcome.err is None, "\n".join(outcome.logs)
    return outcome


def _fails(outcome: TxOutcome, code: int) -> None:
    """Failed in the pump instruction (the last one) with custom error `code`, fee charged."""
    assert outcome.err is not None, "\n".join(outcome.logs)
    assert outcome.err["InstructionError"][1] == {"Custom": code}, "\n".join(outcome.logs)
    assert outcome.logs[-1] == (
        f"Program {state.PUMP_PROGRAM_ID} failed: custom program error: {code:#x}"
    )


def _cluster(seed: int) -> tuple[Cluster, PumpLaunchpad]:
    cluster = Cluster(seed=seed, slot_ms=None)
    pump.install(cluster)
    return cluster, PumpLaunchpad(cluster, seed)


def _create(cluster: Cluster, creator: Keypair, quote: Pubkey = USDC, *,
            quote_program: Pubkey = TOKEN_PROGRAM_ID, mayhem: bool = False,
            creator_fee_bps: int | None = None) -> tuple[Keypair, TxOutcome]:  # fmt: skip
    mint = Keypair()
    c = str(creator.pubkey())
    spec: dict[str, Any] = {
        "op": "create_v2", "mint": str(mint.pubkey()), "name": "Stable", "symbol": "STBL",
        "uri": "https://example.invalid/s.json", "creator": c, "user": c, "mayhemMode": mayhem,
        "quoteMint": str(quote), "quoteTokenProgram": str(quote_program),
    }  # fmt: skip
    if creator_fee_bps is not None:
        spec["creatorFeeBps"] = str(creator_fee_bps)
    return mint, _send(cluster, creator, [_ix(sdk(spec))], [mint])


def _account_b64(cluster: Cluster, key: Pubkey) -> str:
    acc = cluster.get_account(key)
    assert acc is not None, key
    return b64(bytes(acc.data))


def _events(logs: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    data = [line.removeprefix("Program data: ") for line in logs
            if line.startswith("Program data: ")]  # fmt: skip
    decoded: list[dict[str, Any]] = sdk({"op": "decode", "events": data})["events"]
    return decoded


def _set_curve(cluster: Cluster, mint: Pubkey, quote: Pubkey, quote_program: Pubkey,
               real_tokens: int, real_quote: int, initial_quote: int) -> None:  # fmt: skip
    """Put a token-quoted curve in a state, with its base and quote token accounts holding what
    trading would have left in them."""
    key = state.bonding_curve_address(mint)
    acc = cluster.get_account(key)
    assert acc is not None
    fields = state.decode_account("BondingCurve", state.BONDING_CURVE_LAYOUT, bytes(acc.data))
    assert fields is not None
    fields.update(real_token_reserves=real_tokens,
                  virtual_token_reserves=real_tokens + VIRTUAL_TOKEN_GAP,
                  real_quote_reserves=real_quote,
                  virtual_quote_reserves=real_quote + initial_quote, complete=False)  # fmt: skip
    data = state.encode_account("BondingCurve", state.BONDING_CURVE_LAYOUT, fields, len(acc.data))
    cluster.set_account(key, Account(acc.lamports, data, acc.owner, False, 0))
    for token_mint, program, amount in ((mint, TOKEN_2022_PROGRAM_ID, real_tokens + UNSOLD),
                                        (quote, quote_program, real_quote)):  # fmt: skip
        ata = associated_token_address(key, token_mint, program)
        ata_acc = cluster.get_account(ata)
        assert ata_acc is not None
        raw = bytearray(ata_acc.data)
        raw[64:72] = amount.to_bytes(8, "little")
        cluster.set_account(ata, Account(ata_acc.lamports, bytes(raw), ata_acc.owner, False, 0))


def _qbal(cluster: Cluster, owner: Pubkey, quote: Pubkey = USDC,
          program: Pubkey = TOKEN_PROGRAM_ID) -> int:  # fmt: skip
    return token_balance(cluster, associated_token_address(owner, quote, program))


def _quote_args(cluster: Cluster, mint: Pubkey, **request: Any) -> dict[str, Any]:
    answer: dict[str, Any] = sdk({
        "op": "quote", "global": _account_b64(cluster, state.GLOBAL),
        "feeConfig": _account_b64(cluster, state.FEE_CONFIG),
        "bondingCurve": _account_b64(cluster, state.bonding_curve_address(mint)),
        "mintSupply": str(state.TOKEN_TOTAL_SUPPLY), **request,
    })  # fmt: skip
    return answer


def _raw(kind: str, user: Keypair, mint: Pubkey, creator: Pubkey, amount: int, limit: int,
         quote: Pubkey = USDC, quote_program: Pubkey = TOKEN_PROGRAM_ID,
         **extra: Any) -> Instruction:  # fmt: skip
    return _ix(sdk({
        "op": "raw", "kind": kind, "user": str(user.pubkey()), "mint": str(mint),
        "creator": str(creator), "amount": str(amount), "limit": str(limit),
        "tokenProgram": str(TOKEN_2022_PROGRAM_ID), "quoteMint": str(quote),
        "quoteTokenProgram": str(quote_program), **extra,
    }))  # fmt: skip


def _ata(payer: Keypair, mint: Pubkey, program: Pubkey = TOKEN_2022_PROGRAM_ID) -> Instruction:
    from localnet.market.instructions import create_associated_token_account_idempotent

    return create_associated_token_account_idempotent(payer.pubkey(), payer.pubkey(), mint,
                                                      program)  # fmt: skip


# ---- create_v2 -------------------------------------------------------------------------------
def test_sdk_create_v2_with_usdc_quote_lands_and_sdk_decodes_the_curve_and_event() -> None:
    cluster, _ = _cluster(41)
    creator = funded(cluster, 10)
    mint, outcome = _create(cluster, creator)
    _ok(outcome)
    curve_key = state.bonding_curve_address(mint.pubkey())
    decoded = sdk({"op": "decode", "bondingCurve": _account_b64(cluster, curve_key)})
    curve = decoded["bondingCurve"]
    assert curve["quoteMint"] == str(USDC)
    assert curve["virtualQuoteReserves"] == "4292000000"  # Global.initial_virtual_quote_reserves
    assert curve["realQuoteReserves"] == "0"
    assert curve["creator"] == str(creator.pubkey())
    quote_ata = associated_token_address(curve_key, USDC, TOKEN_PROGRAM_ID)
    assert cluster.get_account(quote_ata) is not None  # the program created the curve's USDC ATA
    (create,) = [e for e in _events(outcome.logs) if e["name"] == "CreateEvent"]
    assert create["data"]["quoteMint"] == str(USDC)
    assert create["data"]["virtualQuoteReserves"] == "4292000000"


def test_create_v2_refuses_bad_quotes_with_the_programs_errors() -> None:
    cluster, _ = _cluster(42)
    creator = funded(cluster, 10)
    # the Token-2022 native mint can never quote a curve
    _fails(_create(cluster, creator, state.NATIVE_MINT_2022,
                   quote_program=TOKEN_2022_PROGRAM_ID)[1], 6063)  # fmt: skip
    # a mint neither Global nor QuoteControl lists (QuoteControl not initialized here: 6075)
    other = quotes.create_quote_mint(cluster, Keypair().pubkey(), decimals=9)
    _fails(_create(cluster, creator, other)[1], 6075)
    # USDC is SPL Token: naming Token-2022 as its program is rejected
    bad = _create(cluster, creator, USDC, quote_program=TOKEN_2022_PROGRAM_ID)[1]
    _fails(bad, 6063)
    # listed in QuoteControl, but QuoteControl mints cannot be mayhem coins
    quotes.add_quote_control_mint(cluster, other, 50_000_000_000)
    PumpLaunchpad(cluster).configure(mayhem_mode_enabled=True)
    _fails(_create(cluster, creator, other, mayhem=True)[1], 6071)
    # and a creator fee outside 1..=max_configurable_creator_fee_bps
    _fails(_create(cluster, creator, other, creator_fee_bps=301)[1], 6078)


# ---- buy_v2 / sell_v2 amounts ----------------------------------------------------------------
def _fee_split(sol: int, fees: dict[str, str]) -> tuple[int, int]:
    protocol = -(-sol * int(fees["protocolFeeBps"]) // 10_000)
    creator = -(-sol * int(fees["creatorFeeBps"]) // 10_000)
    return protocol, creator


@pytest.mark.parametrize("kind", ["usdc", "exotic"])
def test_sdk_buy_v2_and_sell_v2_move_the_quote_token_as_sdk_math_says(kind: str) -> None:
    rng = random.Random(43 if kind == "usdc" else 44)
    cluster, _ = _cluster(43)
    quote, program, initial = USDC, TOKEN_PROGRAM_ID, 4_292_000_000
    if kind == "exotic":  # a Token-2022 quote admitted through QuoteControl: exotic flat fees
        quote = quotes.create_quote_mint(cluster, Keypair().pubkey(), decimals=9,
                                         token_program=TOKEN_2022_PROGRAM_ID)  # fmt: skip
        program, initial = TOKEN_2022_PROGRAM_ID, 30_000_000_000
        quotes.add_quote_control_mint(cluster, quote, initial)
    creator, user = funded(cluster, 10), funded(cluster, 100)
    quotes.fund_quote(cluster, user.pubkey(), 10**15, quote)
    mint_kp, outcome = _create(cluster, creator, quote, quote_program=program)
    _ok(outcome)
    mint = mint_kp.pubkey()
    curve_key = state.bonding_curve_address(mint)
    vault = state.creator_vault_address(creator.pubkey())
    held = 0
    for round_ in range(12):
        real_tokens = rng.randrange(10**13, state.INITIAL_REAL_TOKEN_RESERVES)
        real_quote = rng.randrange(0, 80 * initial // 4)
        _set_curve(cluster, mint, quote, program, real_tokens, real_quote, initial)
        budget = rng.choice([rng.randrange(10**4, 10**7), rng.randrange(10**7, 10**10)])
        q = _quote_args(cluster, mint, buySol=str(budget))
        tokens, cost = int(q["buyTokens"]), int(q["buySolCost"])
        fee_recipient = rng.choice(state.FEE_RECIPIENTS)
        buyback = rng.choice(state.BUYBACK_FEE_RECIPIENTS)
        before = {k: _qbal(cluster, k, quote, program)
                  for k in (user.pubkey(), curve_key, fee_recipient, buyback, vault)}  # fmt: skip
        ix = _raw("buy_v2", user, mint, creator.pubkey(), tokens, budget, quote, program,
                  feeRecipient=str(fee_recipient), buybackFeeRecipient=str(buyback))  # fmt: skip
        out = _ok(_send(cluster, user, [_ata(user, mint), ix]))
        held += tokens
        after = {k: _qbal(cluster, k, quote, program) for k in before}
        into_curve = after[curve_key] - before[curve_key]
        protocol, creator_fee = _fee_split(into_curve, q["feesBps"])
        assert before[user.pubkey()] - after[user.pubkey()] == cost, round_  # SDK total
        assert cost == into_curve + protocol + creator_fee, round_
        gained = (after[fee_recipient] - before[fee_recipient]
                  + after[buyback] - before[buyback])  # fmt: skip
        assert gained == protocol
        assert after[vault] - before[vault] == creator_fee
        (trade,) = [e["data"] for e in _events(out.logs) if e["name"] == "TradeEvent"]
        assert trade["quoteMint"] == str(quote)
        assert trade["quoteAmount"] == str(into_curve)
        assert trade["tokenAmount"] == str(tokens)
        assert trade["isBuy"] is True
        # sell a random share back on another random state
        amount = max(1, held * rng.randrange(1, 100) // 100)
        real_quote = rng.randrange(initial // 2, 80 * initial // 4)
        _set_curve(cluster, mint, quote, program, rng.randrange(10**13, 7 * 10**14), real_quote,
                   initial)  # fmt: skip
        s = _quote_args(cluster, mint, sellTokens=str(amount))
        proceeds = int(s["sellSol"])
        before_user = _qbal(cluster, user.pubkey(), quote, program)
        ix = _raw("sell_v2", user, mint, creator.pubkey(), amount, proceeds, quote, program,
                  feeRecipient=str(fee_recipient), buybackFeeRecipient=str(buyback))  # fmt: skip
        _ok(_send(cluster, user, [ix]))
        held -= amount
        assert _qbal(cluster, user.pubkey(), quote, program) - before_user == proceeds, round_


def test_sdk_high_level_builders_trade_a_usdc_coin_from_decoded_accounts() -> None:
    """buyV2Instructions / sellV2Instructions with the SDK's own fee-recipient choice."""
    cluster, pad = _cluster(45)
    creator, user = funded(cluster, 10), funded(cluster, 100)
    quotes.fund_quote(cluster, user.pubkey(), 1_000 * USDC_UNIT)
    mint_kp, outcome = _create(cluster, creator)
    _ok(outcome)
    mint = mint_kp.pubkey()
    curve_b64 = _account_b64(cluster, state.bonding_curve_address(mint))
    q = _quote_args(cluster, mint, buySol=str(250 * USDC_UNIT))
    ixs = sdk({"op": "high", "kind": "buy_v2", "global": _account_b64(cluster, state.GLOBAL),
               "bondingCurve": curve_b64, "user": str(user.pubkey()), "mint": str(mint),
               "amount": q["buyTokens"], "quoteAmount": str(250 * USDC_UNIT), "slippage": 1,
               "ataExists": False})  # fmt: skip
    assert ixs[-1]["keys"][2]["pubkey"] == str(USDC)  # the curve's quote, not WSOL
    _ok(_send(cluster, user, [_ix(i) for i in ixs]))
    assert 1_000 * USDC_UNIT - _qbal(cluster, user.pubkey()) == int(q["buySolCost"])
    assert pad.token_balance(mint, user.pubkey()) == int(q["buyTokens"])
    tokens = int(q["buyTokens"])
    s = _quote_args(cluster, mint, sellTokens=str(tokens))
    ixs = sdk({"op": "high", "kind": "sell_v2", "global": _account_b64(cluster, state.GLOBAL),
               "bondingCurve": _account_b64(cluster, state.bonding_curve_address(mint)),
               "user": str(user.pubkey()), "mint": str(mint), "amount": str(tokens),
               "quoteAmount": s["sellSol"], "slippage": 1})  # fmt: skip
    before = _qbal(cluster, user.pubkey())
    _ok(_send(cluster, user, [_ix(i) for i in ixs]))
    assert _qbal(cluster, user.pubkey()) - before == int(s["sellSol"])


# ---- the program's errors ---------------------------------------------------------------------
def test_wrong_quote_accounts_fail_with_the_programs_errors() -> None:
    cluster, _ = _cluster(46)
    creator, user = funded(cluster, 10), funded(cluster, 100)
    quotes.fund_quote(cluster, user.pubkey(), 1_000 * USDC_UNIT)
    mint_kp, outcome = _create(cluster, creator)
    _ok(outcome)
    mint, c = mint_kp.pubkey(), creator.pubkey()
    q = _quote_args(cluster, mint, buySol=str(10 * USDC_UNIT))
    tokens, budget = int(q["buyTokens"]), 10 * USDC_UNIT

    def buy(ix: Instruction) -> TxOutcome:
        return _send(cluster, user, [_ata(user, mint), ix])

    good = _raw("buy_v2", user, mint, c, tokens, budget)
    # WSOL named as the quote of a USDC curve (what a SOL-only bot sends): UnsupportedQuoteMint
    _fails(buy(_raw("buy_v2", user, mint, c, tokens, budget, tix_wsol(), TOKEN_PROGRAM_ID)), 6063)
    # a quote ATA that is not the user's canonical one: ConstraintAssociated
    stranger = Keypair().pubkey()
    _fails(buy(_replace(good, 15, associated_token_address(stranger, USDC, TOKEN_PROGRAM_ID))),
           2009)  # fmt: skip
    # the fee recipient's quote ATA of another owner: ConstraintSeeds
    _fails(buy(_replace(good, 7, associated_token_address(stranger, USDC, TOKEN_PROGRAM_ID))),
           2006)  # fmt: skip
    # a creator vault quote ATA of another vault: ConstraintSeeds
    _fails(buy(_replace(good, 17, associated_token_address(stranger, USDC, TOKEN_PROGRAM_ID))),
           2006)  # fmt: skip
    # a fee recipient Global does not list: NotAuthorized
    _fails(buy(_raw("buy_v2", user, mint, c, tokens, budget, feeRecipient=str(stranger))), 6000)
    # slippage in quote units: a max cost one unit below the SDK's cost
    cost = int(_quote_args(cluster, mint, buyTokens=str(tokens))["buyCostForTokens"])
    _fails(buy(_raw("buy_v2", user, mint, c, tokens, cost - 1)), 6002)
    assert _qbal(cluster, user.pubkey()) == 1_000 * USDC_UNIT  # nothing moved
    _ok(buy(_raw("buy_v2", user, mint, c, tokens, cost)))
    assert 1_000 * USDC_UNIT - _qbal(cluster, user.pubkey()) == cost


def test_legacy_buy_on_a_usdc_curve_is_refused() -> None:
    cluster, _ = _cluster(47)
    creator, user = funded(cluster, 10), funded(cluster, 100)
    mint_kp, outcome = _create(cluster, creator)
    _ok(outcome)
    mint = mint_kp.pubkey()
    ix = _ix(sdk_legacy_buy(user, mint, creator.pubkey()))
    _fails(_send(cluster, user, [_ata(user, mint), ix]), 6063)


def tix_wsol() -> Pubkey:
    return state.WSOL_MINT


def _replace(ix: Instruction, index: int, key: Pubkey) -> Instruction:
    metas = list(ix.accounts)
    old = metas[index]
    metas[index] = AccountMeta(key, old.is_signer, old.is_writable)
    return Instruction(ix.program_id, bytes(ix.data), metas)


def sdk_legacy_buy(user: Keypair, mint: Pubkey, creator: Pubkey) -> dict[str, Any]:
    """The SDK's legacy `buy` (getBuyInstructionRaw, through tests/oracle/oracle.js)."""
    legacy = Oracle()
    spec = {"kind": "buy_raw", "user": str(user.pubkey()), "mint": str(mint),
            "creator": str(creator), "amount": "1000000", "solAmount": str(SOL),
            "tokenProgram": str(TOKEN_2022_PROGRAM_ID)}  # fmt: skip
    answer: dict[str, Any] = legacy({
        "op": "tx", "blockhash": "11111111111111111111111111111111", "payer": str(user.pubkey()),
        "signers": [], "instructions": [spec],
    })["instructions"][0]  # fmt: skip
    return answer


# ---- mayhem, cashback, fee sharing ------------------------------------------------------------
def test_mayhem_coin_pays_the_reserved_fee_recipients() -> None:
    cluster, pad = _cluster(48)
    pad.configure(mayhem_mode_enabled=True)
    creator, user = funded(cluster, 10), funded(cluster, 100)
    quotes.fund_quote(cluster, user.pubkey(), 1_000 * USDC_UNIT)
    mint_kp, outcome = _create(cluster, creator, mayhem=True)
    _ok(outcome)
    mint = mint_kp.pubkey()
    curve = sdk({"op": "decode", "bondingCurve": _account_b64(
        cluster, state.bonding_curve_address(mint))})["bondingCurve"]  # fmt: skip
    assert curve["isMayhemMode"] is True
    q = _quote_args(cluster, mint, buySol=str(50 * USDC_UNIT))
    ixs = sdk({"op": "high", "kind": "buy_v2", "global": _account_b64(cluster, state.GLOBAL),
               "bondingCurve": _account_b64(cluster, state.bonding_curve_address(mint)),
               "user": str(user.pubkey()), "mint": str(mint), "amount": q["buyTokens"],
               "quoteAmount": str(50 * USDC_UNIT), "slippage": 1, "ataExists": False})  # fmt: skip
    recipient = Pubkey.from_string(ixs[-1]["keys"][6]["pubkey"])
    assert recipient in state.RESERVED_FEE_RECIPIENTS  # the SDK picked a reserved one
    before = _qbal(cluster, recipient)
    out = _ok(_send(cluster, user, [_ix(i) for i in ixs]))
    assert 1_000 * USDC_UNIT - _qbal(cluster, user.pubkey()) == int(q["buySolCost"])
    (trade,) = [e["data"] for e in _events(out.logs) if e["name"] == "TradeEvent"]
    assert trade["mayhemMode"] is True
    buyback = int(trade["buybackFee"])
    assert _qbal(cluster, recipient) - before == int(trade["fee"]) - buyback
    # a normal fee recipient on a mayhem coin: NotAuthorized
    ix = _raw("buy_v2", user, mint, creator.pubkey(), 10**6, 10 * USDC_UNIT,
              feeRecipient=str(state.FEE_RECIPIENTS[0]))  # fmt: skip
    _fails(_send(cluster, user, [_ata(user, mint), ix]), 6000)


def test_cashback_coin_pays_the_creator_share_back_to_the_trader() -> None:
    cluster, pad = _cluster(49)
    creator, user = funded(cluster, 10), funded(cluster, 100)
    quotes.fund_quote(cluster, user.pubkey(), 1_000 * USDC_UNIT)
    mint_kp, outcome = _create(cluster, creator)
    _ok(outcome)
    mint = mint_kp.pubkey()
    pad.set_curve(mint, is_cashback_coin=True)  # created before create_v2 refused cashback
    q = _quote_args(cluster, mint, buySol=str(100 * USDC_UNIT))
    ix = _raw("buy_v2", user, mint, creator.pubkey(), int(q["buyTokens"]), 100 * USDC_UNIT)
    out = _ok(_send(cluster, user, [_ata(user, mint), ix]))
    assert 1_000 * USDC_UNIT - _qbal(cluster, user.pubkey()) == int(q["buySolCost"])
    (trade,) = [e["data"] for e in _events(out.logs) if e["name"] == "TradeEvent"]
    into_curve = int(trade["quoteAmount"])
    _, creator_share = _fee_split(into_curve, q["feesBps"])
    assert creator_share > 0
    assert (trade["cashback"], trade["creatorFee"]) == (str(creator_share), "0")
    uva = state.user_volume_accumulator_address(user.pubkey())
    assert _qbal(cluster, uva) == creator_share  # the cashback waits in the accumulator's ATA
    assert _qbal(cluster, state.creator_vault_address(creator.pubkey())) == 0
    decoded = sdk({"op": "decode", "userVolumeAccumulator": _account_b64(cluster, uva)})
    assert decoded["userVolumeAccumulator"]["stableCashbackEarned"] == str(creator_share)


def test_fee_shared_coin_pays_the_sharing_config_vault_and_lists_shareholders() -> None:
    cluster, pad = _cluster(50)
    creator, user = funded(cluster, 10), funded(cluster, 100)
    quotes.fund_quote(cluster, user.pubkey(), 1_000 * USDC_UNIT)
    mint_kp, outcome = _create(cluster, creator)
    _ok(outcome)
    mint = mint_kp.pubkey()
    a, b = Keypair().pubkey(), Keypair().pubkey()
    config = pad.share_fees(mint, [(a, 6_000), (b, 4_000)])
    decoded = sdk({"op": "decode", "sharingConfig": _account_b64(cluster, config)})
    assert decoded["sharingConfig"]["mint"] == str(mint)
    assert [s["address"] for s in decoded["sharingConfig"]["shareholders"]] == [str(a), str(b)]
    q = _quote_args(cluster, mint, buySol=str(100 * USDC_UNIT))
    ixs = sdk({"op": "high", "kind": "buy_v2", "global": _account_b64(cluster, state.GLOBAL),
               "bondingCurve": _account_b64(cluster, state.bonding_curve_address(mint)),
               "user": str(user.pubkey()), "mint": str(mint), "amount": q["buyTokens"],
               "quoteAmount": str(100 * USDC_UNIT), "slippage": 1, "ataExists": False})  # fmt: skip
    out = _ok(_send(cluster, user, [_ix(i) for i in ixs]))
    (trade,) = [e["data"] for e in _events(out.logs) if e["name"] == "TradeEvent"]
    assert trade["creator"] == str(config)
    assert [(s["address"], s["shareBps"]) for s in trade["shareholders"]] == [
        (str(a), 6_000), (str(b), 4_000)]  # fmt: skip
    vault = state.creator_vault_address(config)
    assert _qbal(cluster, vault) == int(trade["creatorFee"]) > 0
    # the creator's own vault (the pre-sharing creator) is now stale: ConstraintSeeds
    stale = _raw("buy_v2", user, mint, creator.pubkey(), 10**6, 10 * USDC_UNIT)
    _fails(_send(cluster, user, [_ata(user, mint), stale]), 2006)


# ---- over RPC: the SDK's fetchers and high-level builders ---------------------------------------
async def test_sdk_fetches_a_usdc_coin_over_rpc_and_its_buy_lands() -> None:
    async with running_localnet(seed=51) as net:
        assert net.urls is not None
        rpc = net.urls.rpc["helius"]["http"]
        cluster = net.cluster
        creator, user = funded(cluster, 10), funded(cluster, 100)
        quotes.fund_quote(cluster, user.pubkey(), 1_000 * USDC_UNIT)
        mint_kp, outcome = _create(cluster, creator)
        _ok(outcome)
        mint = mint_kp.pubkey()
        q = _quote_args(cluster, mint, buySol=str(20 * USDC_UNIT))
        answer = await asyncio.to_thread(sdk, {
            "op": "tx", "rpc": rpc, "blockhash": str(cluster.latest_blockhash()),
            "payer": str(user.pubkey()),
            "signers": [base64.b64encode(bytes(user)).decode()],
            "instructions": [
                {"kind": "compute_unit_limit", "units": 300_000},
                {"kind": "buy_v2", "user": str(user.pubkey()), "mint": str(mint),
                 "amount": q["buyTokens"], "quoteAmount": str(20 * USDC_UNIT), "slippage": 1,
                 "quoteMint": str(USDC)},
            ],
        })  # fmt: skip
        tx = VersionedTransaction.from_bytes(base64.b64decode(answer["transaction"]))
        _ok(cluster.send_transaction(tx))
        assert 1_000 * USDC_UNIT - _qbal(cluster, user.pubkey()) == int(q["buySolCost"])


async def test_control_route_launches_and_trades_a_usdc_coin() -> None:
    import aiohttp

    async with running_localnet(seed=52) as net, aiohttp.ClientSession() as http:
        assert net.urls is not None
        c = net.urls.control
        body = {"name": "Dollar", "symbol": "DLR", "quote_mint": "usdc",
                "dev_buy_lamports": 50 * USDC_UNIT}  # fmt: skip
        async with http.post(f"{c}/pump/launch", json=body) as r:
            assert r.status == 201
            launched = await r.json()
        assert launched["quote_mint"] == str(USDC)
        assert launched["dev_tokens"] > 0
        mint = launched["mint"]
        async with http.post(f"{c}/pump/{mint}/trade",
                             json={"side": "buy", "lamports": 25 * USDC_UNIT}) as r:  # fmt: skip
            assert r.status == 200
            assert (await r.json())["tokens"] > 0
        async with http.get(f"{c}/pump/{mint}") as r:
            curve = await r.json()
        assert curve["quote_mint"] == str(USDC)
        assert curve["real_quote_reserves"] > 50 * USDC_UNIT
        async with http.post(f"{c}/pump/launch", json={"quote_mint": "not-a-mint"}) as r:
            assert r.status == 400
