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
```
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.launches import pumpfun, raydium
from localnet.market import instructions as ix
from localnet.market.keys import derive_keypair
from localnet.market.market import Market, MarketError
from localnet.market.ports import ClusterPort
from localnet.tokens import TokenFactory, TokenInfo
from localnet.tokens.factory import DECIMALS

log = structlog.get_logger(__name__)
SOL = 1_000_000_000
ANNOUNCE = ("pumpfun", "raydium", "none")
ACTIONS = ("pump", "dump", "rug")
LIVE_TOKENS = 50  # traders only touch the newest tokens: bounded work per slot


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
class Scenario:
    name: str
    launches: tuple[LaunchStep, ...]
    events: tuple[EventStep, ...] = ()
    traders: int = 0
    trade_probability: float = 0.0


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
    )  # fmt: skip


def load_scenario(path: str | Path) -> Scenario:
    return parse_scenario(Path(path).read_text())


class ScenarioEngine:
    def __init__(self, cluster: ClusterPort, market: Market, factory: TokenFactory,
                 seed: int = 0) -> None:  # fmt: skip
        self.cluster = cluster
        self.market = market
        self.factory = factory
        self.seed = seed
        self.rng = random.Random(seed)
        self.traders: list[Keypair] = []
        self.launched: list[TokenInfo] = []
        self._pending: list[tuple[int, LaunchStep | EventStep]] = []
        self._scenario_tokens: dict[int, TokenInfo] = {}
        self._rugs: dict[Pubkey, int] = {}  # mint -> slot of the scheduled liquidity pull
        self._launch_index: dict[int, int] = {}
        self.trade_probability = 0.0

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

    def add_traders(self, n: int) -> None:
        for i in range(len(self.traders), len(self.traders) + n):
            kp = derive_keypair(self.seed, f"trader:{i}")
            self.cluster.airdrop(kp.pubkey(), 1_000 * SOL)
            self.traders.append(kp)

    def tick(self, slot: int) -> None:
        while self._pending and self._pending[0][0] <= slot:
            _, step = self._pending.pop(0)
            if isinstance(step, LaunchStep):
                info = self.launch(step.kind, announce=step.announce, **step.params)
                self._scenario_tokens[self._launch_index[id(step)]] = info
            elif step.launch in self._scenario_tokens:
                self.act(self._scenario_tokens[step.launch].mint, step.action)
        for mint, due in list(self._rugs.items()):
            if slot >= due:
                del self._rugs[mint]
                self.act(mint, "rug")
        for info in self.launched[-LIVE_TOKENS:]:
            if info.kind == "freeze_authority":
                self.factory.freeze_buyers(info.mint)
            if self.traders and self.rng.random() < self.trade_probability:
                self._random_trade(info)

    # ---- actions -----------------------------------------------------------------------------
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
        return info

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
        pool = self.market.pools[info.mint]
        amm_id = derive_keypair(self.seed, f"amm:{info.mint}").pubkey()
        sol, tokens = self.market.reserves(pool)
        amm = raydium.AmmInfo(
            base_vault=pool.token_account, quote_vault=pool.key, base_mint=info.mint,
            quote_mint=ix.WSOL_MINT, lp_mint=derive_keypair(self.seed, f"lp:{info.mint}").pubkey(),
            market_id=derive_keypair(self.seed, f"obmarket:{info.mint}").pubkey(),
            owner=self.market.maker.pubkey(), base_decimal=DECIMALS, quote_decimal=9,
            pool_open_time=self.cluster.block_time(self.cluster.slot), lp_reserve=sol,
        )  # fmt: skip
        data = raydium.encode_amm_info(amm)
        rent = self.cluster.svm.minimum_balance_for_rent_exemption(len(data))
        self.cluster.set_account(amm_id, Account(rent, data, raydium.RAYDIUM_AMM_V4, False, 0))
        log.info("launches.raydium_pool", amm=str(amm_id), mint=str(info.mint), tokens=tokens)


def _token_amount(account: Account | None) -> int:
    if account is None or len(account.data) < 72:
        return 0
    return int.from_bytes(bytes(account.data[64:72]), "little")
