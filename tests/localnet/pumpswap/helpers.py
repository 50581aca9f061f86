"""Shared steps of the PumpSwap tests: a graduated pool, pool states set by hand, the SDK's
offline swap state (raw accounts, as OnlinePumpAmmSdk.swapSolanaState reads them over RPC)."""

from __future__ import annotations

from typing import Any

from pump.helpers import SOL, funded
from pump.oracle import b64
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet import pump
from localnet.cluster import Cluster
from localnet.encoding import TOKEN_2022_PROGRAM_ID
from localnet.market.instructions import associated_token_address
from localnet.pump.launchpad import PumpLaunchpad
from localnet.pumpswap import state

__all__ = ["SOL", "Graduated", "account_json", "funded", "graduated", "set_pool", "swap_state"]


class Graduated:
    def __init__(self, cluster: Cluster, mint: Pubkey, creator: Keypair) -> None:
        self.cluster, self.mint, self.creator = cluster, mint, creator
        self.pool = state.canonical_pool_address(mint)

    def fields(self) -> dict[str, Any]:
        acc = self.cluster.get_account(self.pool)
        assert acc is not None
        fields = state.decode_account("Pool", state.POOL_LAYOUT, bytes(acc.data))
        assert fields is not None
        return fields


def graduated(seed: int) -> Graduated:
    """A coin launched on the curve (dev buy), bought out and migrated to its canonical pool."""
    cluster = Cluster(seed=seed, slot_ms=None)
    pump.install(cluster)
    pad = PumpLaunchpad(cluster, seed)
    creator, buyer = funded(cluster, 10), funded(cluster, 200)
    launch = pad.launch(creator, name="Grad", symbol="GRAD", dev_buy_lamports=SOL)
    pad.graduate(launch.mint, buyer)
    return Graduated(cluster, launch.mint, creator)


def _set_amount(cluster: Cluster, key: Pubkey, amount: int, native: bool) -> None:
    acc = cluster.get_account(key)
    assert acc is not None
    raw = bytearray(acc.data)
    raw[64:72] = amount.to_bytes(8, "little")
    lamports = acc.lamports
    if native:
        lamports = cluster.svm.minimum_balance_for_rent_exemption(len(raw)) + amount
    cluster.set_account(key, Account(lamports, bytes(raw), acc.owner, False, 0))


def set_pool(g: Graduated, base: int, quote: int, virtual_quote: int) -> None:
    """Put the pool in a state: vault balances (the WSOL vault's lamports follow) and
    `virtual_quote_reserves`."""
    fields = g.fields()
    _set_amount(g.cluster, fields["pool_base_token_account"], base, native=False)
    _set_amount(g.cluster, fields["pool_quote_token_account"], quote, native=True)
    fields["virtual_quote_reserves"] = virtual_quote
    acc = g.cluster.get_account(g.pool)
    assert acc is not None
    data = state.encode_account("Pool", state.POOL_LAYOUT, fields, len(acc.data))
    g.cluster.set_account(g.pool, Account(acc.lamports, data, acc.owner, False, 0))


def set_token_balance(cluster: Cluster, owner: Pubkey, mint: Pubkey, amount: int) -> Pubkey:
    ata = associated_token_address(owner, mint, TOKEN_2022_PROGRAM_ID)
    _set_amount(cluster, ata, amount, native=False)
    return ata


def account_json(cluster: Cluster, key: Pubkey) -> dict[str, str] | None:
    acc = cluster.get_account(key)
    if acc is None or (acc.lamports == 0 and not acc.data):
        return None
    return {"data": b64(bytes(acc.data)), "owner": str(acc.owner)}


def swap_state(g: Graduated, user: Pubkey) -> dict[str, Any]:
    """The SDK's offline swap state (tests/oracle/pumpswap.js) from localnet's accounts now."""
    fields = g.fields()
    c = g.cluster
    keys = {
        "globalConfig": state.GLOBAL_CONFIG, "feeConfig": state.FEE_CONFIG, "pool": g.pool,
        "baseMint": g.mint, "poolBase": fields["pool_base_token_account"],
        "poolQuote": fields["pool_quote_token_account"],
        "userBase": associated_token_address(user, g.mint, TOKEN_2022_PROGRAM_ID),
        "userQuote": state.wsol_ata(user),
    }  # fmt: skip
    return {"pool": str(g.pool), "user": str(user),
            "accounts": {name: account_json(c, key) for name, key in keys.items()}}  # fmt: skip
