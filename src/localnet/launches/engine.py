"""The scenario engine: launches tokens over slots, announces them the way mainnet does, and plays
other traders, pumps, dumps and rugs. Scenario files are TOML data; one seed replays one run.

```toml
name = "mixed"
traders = 8               # other wallets trading every slot
trade_probability = 0.3   # per live token per slot
[[launch]]
at_slot = 2               # relative to when the scenario is loaded
kind = "honest"
announce = "pumpfun"      # pumpfun | raydium | none
params = { liquidity_sol = 20 }
[[event]]
at_slot = 10
launch = 0                # index into [[launch]]
action = "pump"           # pump | dump | rug
[stream]                  # endless launches: one every `every_slots` from `start_slot` on
every_slots = 6
kinds = ["honest", "freeze_authority", "rug_pull"]   # dealt from a seeded, reshuffled deck
announce = ["pumpfun", "raydium"]
params = { rug_pull = { rug_after_slots = 40 } }     # per kind
```

`DEFAULT_SCENARIO` (scenarios/default.toml) is the endless mix `python -m localnet` plays. The
engine keeps the newest `max_tokens` launches; older ones are retired (`TokenFactory.retire`:
pool forgotten, accounts closed), so a run of any length has bounded memory.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.launches import pumpfun, raydium_program
from localnet.launches.curve import CurveLaunches, CurvePlan, CurveRun
from localnet.market import instructions as ix
from localnet.market.keys import derive_keypair
from localnet.market.market import Market, MarketError
from localnet.market.ports import ClusterPort
from localnet.pump.launchpad import LaunchError
from localnet.tokens import TokenFactory, TokenInfo
from localnet.tokens.factory import DECIMALS

log = structlog.get_logger(__name__)
SOL = 1_000_000_000
RAYDIUM_SETUP_LAMPORTS = 50_000_000  # rent of the pool's accounts and the fees of its creation
ANNOUNCE = ("pumpfun", "raydium", "none")
ACTIONS = ("pump", "dump", "rug")
LIVE_TOKENS = 50  # traders only touch the newest tokens: bounded work per slot
DEFAULT_MAX_TOKENS = 500
DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "default.toml"


@dataclass(frozen=True, slots=True)
class LaunchStep:
    at_slot: int
    kind: str
    announce: str = "none"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventStep:
    at_slot: int
    launch: int
    action: str


@dataclass(frozen=True, slots=True)
class Stream:
    """Endless launches: one every `every_slots` slots, kinds dealt from a shuffled deck."""

    every_slots: int
    kinds: tuple[str, ...]
    announce: tuple[str, ...] = ("pumpfun", "raydium")
    start_slot: int = 1
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    launches: tuple[LaunchStep, ...]
    events: tuple[EventStep, ...] = ()
    traders: int = 0
    trade_probability: float = 0.0
    stream: Stream | None = None


def _parse_stream(raw: Any) -> Stream | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("[stream] must be a table")
    stream = Stream(
        int(raw.get("every_slots", 0)), tuple(str(k) for k in raw.get("kinds", ())),
        tuple(str(a) for a in raw.get("announce", ("pumpfun", "raydium"))),
        int(raw.get("start_slot", 1)),
        {str(k): dict(v) for k, v in dict(raw.get("params", {})).items()},
    )  # fmt: skip
    if stream.every_slots < 1:
        raise ValueError("[stream] every_slots must be a positive integer")
    if not stream.kinds:
        raise ValueError("[stream] kinds must name at least one token kind")
    if not stream.announce or any(a not in ANNOUNCE for a in stream.announce):
        raise ValueError(f"[stream] announce must be a non-empty list of {ANNOUNCE}")
    return stream


def parse_scenario(text: str) -> Scenario:
    raw = tomllib.loads(text)
    launches = tuple(
        LaunchStep(int(s["at_slot"]), str(s["kind"]), str(s.get("announce", "none")),
                   dict(s.get("params", {})))
        for s in raw.get("launch", [])
    )  # fmt: skip
    events = tuple(
        EventStep(int(e["at_slot"]), int(e["launch"]), str(e["action"]))
        for e in raw.get("event", [])
    )
    for step in launches:
        if step.announce not in ANNOUNCE:
            raise ValueError(f"announce must be one of {ANNOUNCE}, got {step.announce!r}")
    for event in events:
        if event.action not in ACTIONS or not 0 <= event.launch < len(launches):
            raise ValueError(f"bad event {event}: action in {ACTIONS}, launch an index")
    return Scenario(
        str(raw.get("name", "scenario")), launches, events,
        int(raw.get("traders", 0)), float(raw.get("trade_probability", 0.0)),
        _parse_stream(raw.get("stream")),
    )  # fmt: skip


def load_scenario(path: str | Path) -> Scenario:
    return parse_scenario(Path(path).read_text())


class ScenarioEngine:
    def __init__(self, cluster: ClusterPort, market: Market, factory: TokenFactory,
                 seed: int = 0, *, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:  # fmt: skip
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        self.cluster = cluster
        self.market = market
        self.factory = factory
        self.seed = seed
        self.max_tokens = max_tokens
        self.rng = random.Random(seed)
        self.traders: list[Keypair] = []
        self.launched: list[TokenInfo] = []  # the newest `max_tokens`, oldest first
        self.retired = 0
        self._pending: list[tuple[int, LaunchStep | EventStep]] = []
        self._scenario_tokens: dict[int, TokenInfo] = {}
        self._rugs: dict[Pubkey, int] = {}  # mint -> slot of the scheduled liquidity pull
        self._announced: dict[Pubkey, list[Pubkey]] = {}  # mint -> curve / AMM accounts
        self._launch_index: dict[int, int] = {}
        self._stream: Stream | None = None
        self._stream_next = 0
        self._stream_rng = random.Random(f"stream:{seed}")
        self._deck: list[str] = []
        self.trade_probability = 0.0
        self.curves = CurveLaunches(cluster, seed, max_tokens)
        self._scenario_curves: dict[int, CurveRun] = {}

    # ---- driving -----------------------------------------------------------------------------
    def attach(self) -> None:
        """Run `tick` on every new slot of the cluster's clock."""
        self.cluster.on_slot(self.tick)

    def load(self, scenario: Scenario) -> None:
        base = self.cluster.slot
        self._scenario_tokens.clear()
        steps: list[LaunchStep | EventStep] = [*scenario.launches, *scenario.events]
        self._pending = sorted([(base + s.at_slot, s) for s in steps], key=lambda item: item[0])
        self._launch_index = {id(s): i for i, s in enumerate(scenario.launches)}
        self.add_traders(scenario.traders)
        self.trade_probability = scenario.trade_probability
        self._stream = scenario.stream
        self._deck.clear()
        if scenario.stream is not None:
            self._stream_next = base + scenario.stream.start_slot

    def add_traders(self, n: int) -> None:
        for i in range(len(self.traders), len(self.traders) + n):
            kp = derive_keypair(self.seed, f"trader:{i}")
            self.cluster.airdrop(kp.pubkey(), 1_000 * SOL)
            self.traders.append(kp)

    def tick(self, slot: int) -> None:
        while self._pending and self._pending[0][0] <= slot:
            _, step = self._pending.pop(0)
            if isinstance(step, LaunchStep) and is_curve_kind(step.kind):
                try:
                    run = self.launch_curve(step.kind, **step.params)
                except (ValueError, RuntimeError, LaunchError) as exc:
                    log.warning("launches.curve_launch_failed", error=str(exc))
                    continue
                self._scenario_curves[self._launch_index[id(step)]] = run
            elif isinstance(step, LaunchStep):
                info = self.launch(step.kind, announce=step.announce, **step.params)
                self._scenario_tokens[self._launch_index[id(step)]] = info
            elif step.launch in self._scenario_tokens:
                self.act(self._scenario_tokens[step.launch].mint, step.action)
        self._play_stream(slot)
        self.curves.tick(slot)
        for mint, due in list(self._rugs.items()):
            if slot >= due:
                del self._rugs[mint]
                self.act(mint, "rug")
        for info in self.launched[-LIVE_TOKENS:]:
            if info.kind == "freeze_authority":
                try:
                    self.factory.freeze_buyers(info.mint)
                except RuntimeError as exc:
                    log.info("launches.freeze_failed", mint=str(info.mint), error=str(exc))
            if self.traders and self.rng.random() < self.trade_probability:
                self._random_trade(info)

    def _play_stream(self, slot: int) -> None:
        stream = self._stream
        if stream is None or slot < self._stream_next:
            return
        self._stream_next = slot + stream.every_slots
        if not self._deck:
            self._deck = list(stream.kinds)
            self._stream_rng.shuffle(self._deck)
        kind = self._deck.pop()
        announce = self._stream_rng.choice(stream.announce)
        try:
            if is_curve_kind(kind):
                self.launch_curve(kind, **stream.params.get(kind, {}))
            else:
                self.launch(kind, announce=announce, **stream.params.get(kind, {}))
        except (
            ValueError,
            MarketError,
            RuntimeError,
            LaunchError,
        ) as exc:  # TokenError: ValueError
            log.warning("launches.stream_launch_failed", kind=kind, error=str(exc))

    # ---- actions -----------------------------------------------------------------------------
    def launch_curve(self, kind: str = "curve", **params: Any) -> CurveRun:
        """A scripted launch on the pump.fun curve (`localnet.launches.curve`: dev buy, bundle,
        rival snipers, trades, dev dump, graduation), every step a real transaction."""
        if not is_curve_kind(kind):
            raise ValueError(f"curve launch kinds are 'curve' or 'curve_<name>', got {kind!r}")
        return self.curves.launch(CurvePlan.from_params(params), kind)

    def launch(self, kind: str, *, announce: str = "none", **params: Any) -> TokenInfo:
        if announce not in ANNOUNCE:
            raise ValueError(f"announce must be one of {', '.join(ANNOUNCE)}, got {announce!r}")
        info = self.factory.create(kind, **params)
        token = self.factory.get(info.mint)
        if announce == "pumpfun":
            self._announce_pumpfun(info, token.name, token.symbol, token.creator)
        elif announce == "raydium":
            self._announce_raydium(info)
        if token.spec.rug_after_slots is not None:
            self._rugs[info.mint] = self.cluster.slot + token.spec.rug_after_slots
        self.launched.append(info)
        while len(self.launched) > self.max_tokens:
            self.retire(self.launched[0].mint)
        return info

    def retire(self, mint: Pubkey) -> None:
        """Forget a launched token and close its accounts (announcements included)."""
        self.launched = [info for info in self.launched if info.mint != mint]
        self._rugs.pop(mint, None)
        self._scenario_tokens = {i: t for i, t in self._scenario_tokens.items() if t.mint != mint}
        for address in self._announced.pop(mint, []):
            self.cluster.close_account(address)
        if mint in self.factory.tokens:
            self.factory.retire(mint)
        self.retired += 1

    def act(self, mint: Pubkey, action: str) -> None:
        """pump: traders buy; dump: the creator sells everything; rug: the kind's rug."""
        token = self.factory.get(mint)
        try:
            if action == "pump":
                for trader in self.traders[:5] or [token.creator]:
                    self.market.trade(mint, trader, "buy", SOL)
            elif action == "dump":
                ata = ix.associated_token_address(token.creator.pubkey(), mint,
                                                  token.info.token_program)  # fmt: skip
                amount = _token_amount(self.cluster.get_account(ata))
                if amount:
                    self.market.trade(mint, token.creator, "sell", amount)
            else:
                self.factory.rug(mint)
        except (MarketError, RuntimeError) as exc:
            log.info("launches.action_failed", mint=str(mint), action=action, error=str(exc))

    def _random_trade(self, info: TokenInfo) -> None:
        trader = self.rng.choice(self.traders)
        try:
            if self.rng.random() < 0.6:
                lamports = self.rng.randint(SOL // 20, SOL)
                self.market.trade(info.mint, trader, "buy", lamports)
                return
            ata = ix.associated_token_address(trader.pubkey(), info.mint, info.token_program)
            held = _token_amount(self.cluster.get_account(ata))
            if held:
                self.market.trade(info.mint, trader, "sell", held // 2 or held)
        except MarketError:
            pass  # no route (rugged or delayed): traders move on

    def _announce_pumpfun(self, info: TokenInfo, name: str, symbol: str, creator: Keypair) -> None:
        curve = pumpfun.bonding_curve_address(info.mint)
        event = pumpfun.CreateEvent(
            name=name, symbol=symbol, uri=f"https://localnet.invalid/{info.mint}.json",
            mint=info.mint, bonding_curve=curve, user=creator.pubkey(), creator=creator.pubkey(),
            timestamp=self.cluster.block_time(self.cluster.slot), token_program=info.token_program,
        )  # fmt: skip
        data = pumpfun.encode_bonding_curve(event)
        rent = self.cluster.svm.minimum_balance_for_rent_exemption(len(data))
        self.cluster.set_account(curve, Account(rent, data, pumpfun.PUMP_PROGRAM_ID, False, 0))
        self._announced.setdefault(info.mint, []).append(curve)
        assoc = ix.associated_token_address(curve, info.mint, info.token_program)
        keys = [info.mint, pumpfun.PUMP_MINT_AUTHORITY, curve, assoc, pumpfun.PUMP_GLOBAL,
                ix.METADATA_PROGRAM_ID, ix.SYSTEM_PROGRAM_ID, info.token_program,
                ix.ASSOCIATED_TOKEN_PROGRAM_ID, pumpfun.PUMP_EVENT_AUTHORITY,
                pumpfun.PUMP_PROGRAM_ID]  # fmt: skip
        self.cluster.record_synthetic_transaction(
            signer=creator,
            logs=pumpfun.create_logs(event),
            account_keys=keys,
            mentions=[pumpfun.PUMP_PROGRAM_ID],
        )

    def _announce_raydium(self, info: TokenInfo) -> None:
        """A real Raydium v4 `initialize2` transaction signed by the token's creator: half its
        tokens and the SOL that prices them like the market's pool go into the new pool's vaults
        (its `ray_log` in the logs, `AmmInfo` written by the program); the LP is burned unless
        the kind rugs. A token whose transfers cannot reach the vaults (frozen, hooked,
        non-transferable) gets no pool, as on mainnet."""
        token = self.factory.get(info.mint)
        creator = token.creator
        user = creator.pubkey()
        pool = self.market.pools[info.mint]
        sol, tokens = self.market.reserves(pool)
        user_coin = ix.associated_token_address(user, info.mint, info.token_program)
        coin = _token_amount(self.cluster.get_account(user_coin)) // 2
        pc = coin * sol // tokens if tokens else 0
        if coin <= 0 or pc <= 0:
            log.info("launches.raydium_pool_skipped", mint=str(info.mint), reason="no liquidity")
            return
        raydium_program.install(self.cluster)  # type: ignore[arg-type]
        self.cluster.airdrop(user, pc + RAYDIUM_SETUP_LAMPORTS)
        market_id = derive_keypair(self.seed, f"obmarket:{info.mint}").pubkey()
        addresses = raydium_program.pool_addresses(market_id)
        user_pc = ix.associated_token_address(user, ix.WSOL_MINT, ix.TOKEN_PROGRAM_ID)
        user_lp = ix.associated_token_address(user, addresses.lp_mint, ix.TOKEN_PROGRAM_ID)
        initialize2 = raydium_program.initialize2_instruction(
            market=market_id, user=user, coin_mint=info.mint, pc_mint=ix.WSOL_MINT,
            user_coin=user_coin, user_pc=user_pc,
            open_time=self.cluster.block_time(self.cluster.slot), init_pc_amount=pc,
            init_coin_amount=coin, coin_program=info.token_program,
        )  # fmt: skip
        ixs = [
            ix.create_associated_token_account_idempotent(user, user, ix.WSOL_MINT,
                                                          ix.TOKEN_PROGRAM_ID),
            transfer(TransferParams(from_pubkey=user, to_pubkey=user_pc, lamports=pc)),
            Instruction(ix.TOKEN_PROGRAM_ID, bytes([17]), [AccountMeta(user_pc, False, True)]),
            initialize2,
        ]  # fmt: skip
        message = MessageV0.try_compile(user, ixs, [], self.cluster.latest_blockhash())
        outcome = self.cluster.send_transaction(VersionedTransaction(message, [creator]))
        if outcome.err is not None:
            log.warning("launches.raydium_pool_failed", mint=str(info.mint), err=outcome.err)
            return
        announced = [addresses.amm, addresses.coin_vault, addresses.pc_vault, user_pc, user_lp]
        if token.spec.rug_after_slots is None:  # an honest creator burns the LP
            lp = _token_amount(self.cluster.get_account(user_lp))
            burn = ix.burn_checked(ix.TOKEN_PROGRAM_ID, user_lp, addresses.lp_mint, user, lp,
                                   DECIMALS)  # fmt: skip
            burn_msg = MessageV0.try_compile(user, [burn], [], self.cluster.latest_blockhash())
            self.cluster.send_transaction(VersionedTransaction(burn_msg, [creator]))
        self._announced.setdefault(info.mint, []).extend([*announced, addresses.lp_mint])
        log.info("launches.raydium_pool", amm=str(addresses.amm), mint=str(info.mint),
                 tokens=coin, lamports=pc, signature=str(outcome.signature))  # fmt: skip


def is_curve_kind(kind: str) -> bool:
    """Launch kinds `curve`, `curve_<anything>`: a scripted launch on the pump.fun curve."""
    return kind == "curve" or kind.startswith("curve_")


def _token_amount(account: Account | None) -> int:
    if account is None or len(account.data) < 72:
        return 0
    return int.from_bytes(bytes(account.data[64:72]), "little")
