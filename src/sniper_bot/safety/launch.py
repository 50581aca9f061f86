"""The risk decision of a hot snipe: a pump.fun create judged from its event and cached state.

    facts = LaunchFacts.from_event(create, trades=same_tx_trades, instruction="CreateV2", slot=s)
    decision = decide_launch(facts, reputation.get(facts.dev), policy)      # pure CPU, no I/O
    if not decision.blocked: ... sign and send ...
    await record_decision_row(honeypot_repo, decision)                      # after the send

``decide_launch`` runs between the decode of a create and the signature of the buy: no I/O, only
the event, the create transaction's own ``TradeEvent``s and the creator's cached record
(``safety.creators``). It speaks the full check's language: the same ``Finding``s, the same
scoring (``safety.scoring``: 0-100, critical floors at 70) and the same threshold
(``RISK_BLOCK_THRESHOLD``), so its ``RiskReport`` reads like the usual report and is stored in
``"HoneypotCheck"`` the same way (``details.source = "hot_path"``).

What the create proves (layer ``launch``). The decoder (``solana.pump_events.pump_log_events``)
keeps only events the pump program wrote in its own invocation, so the program created this mint
and it does so one way: ``create`` an SPL Token mint (Metaplex metadata, immutable), ``create_v2``
a Token-2022 mint whose only extensions are MetadataPointer and TokenMetadata (no transfer fee,
hook, permanent delegate, pause or default-frozen state); in both the program mints the whole
supply to the curve and revokes the mint authority in the same instruction, and never sets a
freeze authority. Checked here:

* ``launch_curve_mismatch`` CRITICAL 100: the event's bonding curve is not the pump program's PDA
  ``["bonding-curve", mint]`` (not a pump curve: nothing above holds);
* ``launch_token_program`` CRITICAL 100: a token program other than SPL Token / Token-2022;
  else ``launch_created_by_pump`` INFO 0 with the proof as evidence (instruction, token program,
  ``mint_authority`` revoked, ``freeze_authority`` none, the extensions the program sets);
* ``launch_curve_unusual`` LOW 5: supply or initial reserves other than ``LaunchPolicy``'s (pump's
  ``Global``), or an event too old to carry them;
* ``launch_mayhem_mode`` LOW 5: the program's agent trades the coin for its first day (price moves
  are not only buyers');
* metadata (layer ``metadata``): ``launch_name_missing`` LOW 5 (empty name or symbol),
  ``launch_name_deceptive`` MEDIUM 15 (control, invisible or bidirectional characters),
  ``launch_impersonation`` MEDIUM 15 (the symbol of a well-known asset), ``launch_uri_unusual``
  LOW 5 (empty, or not https / ipfs / ar);
* the creator's buy in the create transaction: ``dev_holding`` (layer ``launchpad``, the full
  check's thresholds and weights);
* other wallets buying in the create transaction: ``bundled_launch`` /
  ``bundle_funded_by_creator`` (``layers.bundled``; the hot path cannot see the rest of the slot);
* the creator's earlier coins: ``serial_rugger`` / ``creator_rugged_before`` / ... (layer
  ``creator``, ``layers.serial``), for the signer and the named creator, the worse one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from solders.pubkey import Pubkey

from sniper_bot.domain.risk import (
    DEFAULT_RISK_BLOCK_THRESHOLD,
    EvidenceValue,
    Finding,
    RiskReport,
    Severity,
)
from sniper_bot.safety.creators import CreatorStats
from sniper_bot.safety.layers._finding import bps_text, finding, share_bps
from sniper_bot.safety.layers.bundled import bundle_findings
from sniper_bot.safety.layers.launchpad import _DEV_HOLDING
from sniper_bot.safety.layers.serial import creator_findings
from sniper_bot.safety.scoring import build_report
from sniper_bot.safety.service import HoneypotCheckSink
from sniper_bot.safety.snapshot import EarlyBuy
from sniper_bot.solana.programs import PUMP_PROGRAM_ID, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID
from sniper_bot.solana.pump_events import CreateEvent, TradeEvent

__all__ = [
    "HOT_PATH_SOURCE",
    "LaunchDecision",
    "LaunchFacts",
    "LaunchPolicy",
    "decide_launch",
    "record_decision_row",
]

log = structlog.get_logger(__name__)

HOT_PATH_SOURCE = "hot_path"
LAUNCH = "launch"
METADATA = "metadata"
LAUNCHPAD = "launchpad"

_WELL_KNOWN = frozenset(
    {"SOL", "WSOL", "USDC", "USDT", "PYUSD", "BTC", "WBTC", "ETH", "WETH", "JUP", "BONK", "JTO"}
)
_URI_SCHEMES = ("https://", "ipfs://", "ar://")
_DECEPTIVE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})  # control, format (bidi, zero-width)


@dataclass(frozen=True, slots=True)
class LaunchPolicy:
    """What a standard pump.fun create looks like (pump's ``Global``) and the block threshold."""

    threshold: int = DEFAULT_RISK_BLOCK_THRESHOLD
    token_total_supply: int = 1_000_000_000_000_000
    initial_virtual_token_reserves: int = 1_073_000_000_000_000
    initial_virtual_sol_reserves: int = 30_000_000_000
    initial_real_token_reserves: int = 793_100_000_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.threshold <= 100:
            raise ValueError(f"threshold must be a score from 1 to 100, got {self.threshold}")
        if min(self.token_total_supply, self.initial_virtual_token_reserves) <= 0:
            raise ValueError("token_total_supply and initial reserves must be positive")


@dataclass(frozen=True, slots=True)
class LaunchFacts:
    """A create as the hot path holds it: the event and its own transaction's buys."""

    mint: Pubkey
    bonding_curve: Pubkey
    user: Pubkey  # the signer (the dev wallet)
    creator: Pubkey  # the curve's creator (the holder-rewards PDA for such coins)
    token_program: Pubkey | None
    name: str
    symbol: str
    uri: str
    token_total_supply: int | None = None
    virtual_token_reserves: int | None = None
    virtual_sol_reserves: int | None = None
    real_token_reserves: int | None = None
    is_mayhem_mode: bool = False
    is_holder_reward: bool = False
    slot: int | None = None
    signature: str | None = None
    dev_tokens: int = 0  # the creator's / signer's buys in the create transaction
    bundle: tuple[EarlyBuy, ...] = ()  # buys by other wallets in the create transaction
    curve_verified: bool | None = None  # True: the caller already checked the curve PDA

    @property
    def dev(self) -> str:
        return str(self.user)

    @classmethod
    def from_event(
        cls,
        event: CreateEvent,
        trades: Iterable[TradeEvent] = (),
        *,
        instruction: str | None = None,
        slot: int | None = None,
        signature: str | None = None,
        curve_verified: bool | None = None,
    ) -> LaunchFacts:
        """``trades``: the ``TradeEvent``s of the create's own transaction (``pump_log_events``);
        ``instruction`` ("Create"/"CreateV2") names the token program of events too old to."""
        token_program = event.token_program
        if token_program is None and instruction == "CreateV2":
            token_program = TOKEN_2022_PROGRAM_ID
        elif token_program is None and instruction == "Create":
            token_program = TOKEN_PROGRAM_ID
        creator = event.creator if event.creator is not None else event.user
        devs = {event.user, creator}
        dev_tokens = 0
        bundle: list[EarlyBuy] = []
        for trade in trades:
            if not trade.is_buy or trade.mint != event.mint:
                continue
            if trade.user in devs:
                dev_tokens += trade.token_amount
            else:
                bundle.append(
                    EarlyBuy(trade.user, trade.token_amount, trade.sol_amount, signature or "")
                )
        return cls(
            mint=event.mint, bonding_curve=event.bonding_curve, user=event.user, creator=creator,
            token_program=token_program, name=event.name, symbol=event.symbol, uri=event.uri,
            token_total_supply=event.token_total_supply,
            virtual_token_reserves=event.virtual_token_reserves,
            virtual_sol_reserves=(
                event.virtual_sol_reserves
                if event.virtual_sol_reserves is not None
                else event.virtual_quote_reserves
            ),
            real_token_reserves=event.real_token_reserves,
            is_mayhem_mode=bool(event.is_mayhem_mode),
            is_holder_reward=bool(event.is_holder_reward), slot=slot, signature=signature,
            dev_tokens=dev_tokens, bundle=tuple(bundle), curve_verified=curve_verified,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class LaunchDecision:
    report: RiskReport
    blocked: bool
    threshold: int
    dev: str = ""
    facts: LaunchFacts | None = field(default=None, compare=False, repr=False)

    @property
    def score(self) -> int:
        return self.report.score

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.report.findings

    @property
    def is_honeypot(self) -> bool:
        return self.report.is_honeypot

    def details(self) -> dict[str, Any]:
        """The ``"HoneypotCheck".details`` document: the report plus where it was decided."""
        return {
            **self.report.to_json(),
            "source": HOT_PATH_SOURCE,
            "blocked": self.blocked,
            "threshold": self.threshold,
        }


def decide_launch(
    facts: LaunchFacts,
    creator: CreatorStats | None,
    policy: LaunchPolicy | None = None,
    *,
    signer: CreatorStats | None = None,
    now: datetime | None = None,
) -> LaunchDecision:
    """The hot snipe's verdict (pure: no I/O). ``creator``: the cached record of
    ``facts.creator``; ``signer``: of ``facts.user`` when it differs (the worse one counts)."""
    policy = policy or _DEFAULT_POLICY
    findings = _program_findings(facts, policy)
    findings.extend(_metadata_findings(facts))
    supply = facts.token_total_supply or policy.token_total_supply
    findings.append(_dev_holding(facts, supply))
    if facts.bundle:
        findings.extend(
            bundle_findings(
                facts.bundle, supply=supply, slot=facts.slot, dev_tokens=facts.dev_tokens
            )
        )
    findings.extend(_creator(facts, creator, signer))
    report = build_report(
        str(facts.mint),
        findings,
        checked_at=now if now is not None else datetime.now(UTC),
        inputs_slot=facts.slot,
    )
    return LaunchDecision(
        report, report.blocks(policy.threshold), policy.threshold, facts.dev, facts
    )


_DEFAULT_POLICY = LaunchPolicy()


def _program_findings(facts: LaunchFacts, policy: LaunchPolicy) -> list[Finding]:
    where: dict[str, EvidenceValue | Pubkey] = {
        "bonding_curve": facts.bonding_curve,
        "token_program": facts.token_program,
    }
    if facts.curve_verified is not True:
        expected = Pubkey.find_program_address(
            [b"bonding-curve", bytes(facts.mint)], PUMP_PROGRAM_ID
        )[0]
        if expected != facts.bonding_curve:
            return [
                finding(
                    "launch_curve_mismatch", LAUNCH, Severity.CRITICAL, 100,
                    "The create names a bonding curve that is not pump.fun's for this mint.",
                    expected=expected, **where,
                )
            ]  # fmt: skip
    if facts.token_program == TOKEN_PROGRAM_ID:
        instruction, extensions = "create", ""
    elif facts.token_program == TOKEN_2022_PROGRAM_ID:
        instruction, extensions = "create_v2", "metadata_pointer,token_metadata"
    else:
        return [
            finding(
                "launch_token_program", LAUNCH, Severity.CRITICAL, 100,
                "The create names no token program pump.fun uses: the mint is not one it made.",
                **where,
            )
        ]  # fmt: skip
    out = [
        finding(
            "launch_created_by_pump", LAUNCH, Severity.INFO, 0,
            f"Created by pump.fun's {instruction}: mint authority revoked, no freeze authority"
            + (", only metadata extensions." if extensions else "."),
            instruction=instruction, mint_authority=None, freeze_authority=None,
            extensions=extensions, **where,
        )
    ]  # fmt: skip
    expected_curve = (
        policy.token_total_supply,
        policy.initial_virtual_token_reserves,
        policy.initial_virtual_sol_reserves,
        policy.initial_real_token_reserves,
    )
    got = (
        facts.token_total_supply,
        facts.virtual_token_reserves,
        facts.virtual_sol_reserves,
        facts.real_token_reserves,
    )
    if got != expected_curve and not (facts.is_mayhem_mode and got[1:] == expected_curve[1:]):
        out.append(
            finding(
                "launch_curve_unusual", LAUNCH, Severity.LOW, 5,
                "The create's supply or starting reserves are not pump.fun's usual ones.",
                supply=got[0], virtual_token_reserves=got[1], virtual_sol_reserves=got[2],
                real_token_reserves=got[3], expected_supply=policy.token_total_supply,
            )
        )  # fmt: skip
    if facts.is_mayhem_mode:
        out.append(
            finding(
                "launch_mayhem_mode", LAUNCH, Severity.LOW, 5,
                "Mayhem mode: pump.fun's agent trades this coin at first, not only buyers.",
                supply=facts.token_total_supply,
            )
        )  # fmt: skip
    return out


def _deceptive(text: str) -> bool:
    return any(unicodedata.category(ch) in _DECEPTIVE_CATEGORIES for ch in text)


def _metadata_findings(facts: LaunchFacts) -> list[Finding]:
    out: list[Finding] = []
    name, symbol, uri = facts.name, facts.symbol, facts.uri
    if not name.strip() or not symbol.strip():
        out.append(
            finding(
                "launch_name_missing", METADATA, Severity.LOW, 5,
                "The coin has no name or no symbol.", name=name, symbol=symbol,
            )
        )  # fmt: skip
    if _deceptive(name) or _deceptive(symbol):
        out.append(
            finding(
                "launch_name_deceptive", METADATA, Severity.MEDIUM, 15,
                "The name or symbol hides control or invisible characters.",
                name=name.encode("unicode_escape").decode(),
                symbol=symbol.encode("unicode_escape").decode(),
            )
        )  # fmt: skip
    bare = unicodedata.normalize("NFKC", symbol).strip().lstrip("$").upper()
    if bare in _WELL_KNOWN:
        out.append(
            finding(
                "launch_impersonation", METADATA, Severity.MEDIUM, 15,
                f"The symbol {bare} is a well-known asset's: this is not it.", symbol=symbol,
            )
        )  # fmt: skip
    if not uri.startswith(_URI_SCHEMES):
        out.append(
            finding(
                "launch_uri_unusual", METADATA, Severity.LOW, 5,
                "The metadata link is empty or not https, IPFS or Arweave.", uri=uri[:200],
            )
        )  # fmt: skip
    return out


def _dev_holding(facts: LaunchFacts, supply: int) -> Finding:
    bps = share_bps(facts.dev_tokens, supply)
    evidence: dict[str, EvidenceValue | Pubkey] = {
        "creator": facts.user,
        "amount": facts.dev_tokens,
        "supply": supply,
        "share_bps": bps,
        "bonding_curve": facts.bonding_curve,
        "venue": "pumpfun",
    }
    for floor, severity, weight in _DEV_HOLDING:
        if bps >= floor:
            return finding(
                "dev_holding", LAUNCHPAD, severity, weight,
                f"The creator bought {bps_text(bps)} of the supply with the create and can sell"
                " it into the curve.",
                **evidence,
            )  # fmt: skip
    title = (
        f"The creator bought {bps_text(bps)} of the supply with the create (a small dev buy)."
        if facts.dev_tokens > 0
        else "The creator bought nothing with the create."
    )
    return finding("dev_holding", LAUNCHPAD, Severity.INFO, 0, title, **evidence)


def _creator(
    facts: LaunchFacts, creator: CreatorStats | None, signer: CreatorStats | None
) -> list[Finding]:
    mint = str(facts.mint)
    by_creator = creator_findings(
        str(facts.creator), None if creator is None else creator.without(mint)
    )
    if facts.user == facts.creator:
        return by_creator
    by_signer = creator_findings(facts.dev, None if signer is None else signer.without(mint))
    weight = sum(f.weight for f in by_creator)
    return by_signer if sum(f.weight for f in by_signer) > weight else by_creator


async def record_decision_row(sink: HoneypotCheckSink, decision: LaunchDecision) -> object | None:
    """Store the hot snipe's decision as a ``"HoneypotCheck"`` row (call it after the send).
    A storage failure is logged (``safety.launch_row_failed``) and returns None: the snipe is
    already on the wire and its decision stays in the order's own record."""
    report = decision.report
    details: Mapping[str, Any] = decision.details()
    try:
        return await sink.save(report.mint, report.score, report.is_honeypot, details)
    except Exception as exc:
        log.warning("safety.launch_row_failed", mint=report.mint, error=type(exc).__name__)
        return None
