"""Shared steps of the pump.fun tests: wallets, SDK-built transactions, balance reads."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster
from localnet.history import TxOutcome

from .oracle import Oracle, b64

SOL = 1_000_000_000
TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
SPL_TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"


def secret(kp: Keypair) -> str:
    return base64.b64encode(bytes(kp)).decode()


def funded(cluster: Cluster, sol: int = 100) -> Keypair:
    kp = Keypair()
    cluster.airdrop(kp.pubkey(), sol * SOL)
    return kp


def build(
    oracle: Oracle, cluster: Cluster, payer: Keypair, instructions: list[dict[str, Any]],
    signers: list[Keypair] | None = None, rpc: str | None = None,
) -> VersionedTransaction:  # fmt: skip
    """A v0 transaction built and signed by the SDK (through tests/oracle/oracle.js)."""
    request: dict[str, Any] = {
        "op": "tx", "blockhash": str(cluster.latest_blockhash()), "payer": str(payer.pubkey()),
        "signers": [secret(k) for k in [payer, *(signers or [])]], "instructions": instructions,
    }  # fmt: skip
    if rpc is not None:
        request["rpc"] = rpc
    answer = oracle(request)
    return VersionedTransaction.from_bytes(base64.b64decode(answer["transaction"]))


def send(cluster: Cluster, tx: VersionedTransaction) -> TxOutcome:
    outcome = cluster.send_transaction(tx)
    assert outcome.landed, outcome.err
    return outcome


def token_balance(cluster: Cluster, account: Pubkey) -> int:
    acc = cluster.get_account(account)
    if acc is None or not acc.data:
        return 0
    return int(TokenAccount.from_bytes(bytes(acc.data[:165])).amount)


def account_b64(cluster: Cluster, key: Pubkey) -> str | None:
    acc = cluster.get_account(key)
    return None if acc is None else b64(bytes(acc.data))


@dataclass
class Coin:
    mint: Keypair
    creator: Keypair

    @property
    def address(self) -> str:
        return str(self.mint.pubkey())


def create_v2(oracle: Oracle, cluster: Cluster, creator: Keypair, name: str = "Moon") -> Coin:
    mint = Keypair()
    c, m = str(creator.pubkey()), str(mint.pubkey())
    tx = build(oracle, cluster, creator, [
        {"kind": "compute_unit_limit", "units": 300_000},
        {"kind": "create_v2", "mint": m, "name": name, "symbol": name[:10].upper(),
         "uri": f"https://example.invalid/{name}.json", "creator": c, "user": c},
    ], [mint])  # fmt: skip
    outcome = send(cluster, tx)
    assert outcome.err is None, outcome.logs
    return Coin(mint, creator)
