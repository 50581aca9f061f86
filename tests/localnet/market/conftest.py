from __future__ import annotations

import pytest
from solders.keypair import Keypair

from localnet.cluster import Cluster
from localnet.market import Market
from localnet.tokens import TokenFactory


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(seed=7, slot_ms=None)


@pytest.fixture
def market(cluster: Cluster) -> Market:
    return Market(cluster, seed=7)


@pytest.fixture
def factory(cluster: Cluster, market: Market) -> TokenFactory:
    return TokenFactory(cluster, market)


@pytest.fixture
def trader(cluster: Cluster) -> Keypair:
    kp = Keypair()
    cluster.airdrop(kp.pubkey(), 20 * 10**9)
    return kp
