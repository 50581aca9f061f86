"""A localnet with manual slots and Jito's official Python client (`jito-py-rpc`) pointed at its
block engine. The client is synchronous (requests): tests call it through `asyncio.to_thread`."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from jito_py_rpc import JitoJsonRpcSDK
from solders.compute_budget import set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.node import Localnet
from localnet.testing import running_localnet

SOL = 1_000_000_000


@dataclass
class Jito:
    net: Localnet
    sdk: JitoJsonRpcSDK
    http: aiohttp.ClientSession

    @property
    def url(self) -> str:
        assert self.net.urls is not None
        return self.net.urls.jito

    @property
    def control(self) -> str:
        assert self.net.urls is not None
        return self.net.urls.control

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """A jito-py-rpc method, off the event loop the localnet runs on."""
        return await asyncio.to_thread(getattr(self.sdk, name), *args, **kwargs)

    async def send_bundle(self, txs: Sequence[VersionedTransaction]) -> Any:
        return await self.call("send_bundle", [encode(tx) for tx in txs])

    async def raw(self, path: str, method: str, params: list[Any]) -> tuple[int, Any, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        async with self.http.post(f"{self.url}/api/v1/{path}", json=body) as response:
            return response.status, await response.json(), response.headers

    async def rpc(self, method: str, *params: Any) -> Any:
        assert self.net.urls is not None
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        async with self.http.post(self.net.urls.rpc["helius"]["http"], json=body) as response:
            return (await response.json())["result"]

    def funded(self, lamports: int = 2 * SOL) -> Keypair:
        wallet = Keypair()
        self.net.cluster.airdrop(wallet.pubkey(), lamports)
        return wallet


def encode(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


def transfer_ix(source: Pubkey, to: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=source, to_pubkey=to, lamports=lamports))


def signed(
    payer: Keypair, ixs: list[Instruction], blockhash: Hash, *, price: int | None = None
) -> VersionedTransaction:
    if price is not None:
        ixs = [set_compute_unit_price(price), *ixs]
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), ixs, [], blockhash), [payer])


@pytest.fixture
async def jito() -> AsyncIterator[Jito]:
    async with running_localnet(seed=77) as net, aiohttp.ClientSession() as http:
        assert net.urls is not None
        yield Jito(net, JitoJsonRpcSDK(net.urls.jito + "/api/v1"), http)
