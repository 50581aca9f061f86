"""ChainPort over the real JSON-RPC client and the chain's wire mapping.

A stand-in until ``sniper_bot.chain.rpc.SolanaRpc`` lands; it speaks real HTTP JSON-RPC to
localnet, so nothing of ours is faked. Replace with ``SolanaRpc`` once it exists.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain import mapping
from sniper_bot.chain.client import JsonRpcClient
from sniper_bot.chain.types import LandedTransaction, SignatureStatus, SimulationResult


class ChainAdapter:
    def __init__(self, client: JsonRpcClient) -> None:
        self._c = client

    async def get_block_height(self, commitment: str = "confirmed") -> int:
        return mapping.slot(await self._c.call("getBlockHeight", [{"commitment": commitment}]))

    async def get_balance(self, pubkey: Pubkey) -> int:
        r = await self._c.call("getBalance", [str(pubkey), {"commitment": "confirmed"}])
        return mapping.balance(r)

    async def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Account | None]:
        r = await self._c.call(
            "getMultipleAccounts",
            [[str(p) for p in pubkeys], {"encoding": "base64", "commitment": "confirmed"}],
        )
        return mapping.accounts(r)

    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]:
        r = await self._c.call(
            "getSignatureStatuses",
            [[str(s) for s in sigs], {"searchTransactionHistory": True}],
        )
        return mapping.signature_statuses(r)

    async def send_transaction(
        self, tx: VersionedTransaction, *, skip_preflight: bool = False, fanout: int = 1
    ) -> Signature:
        r = await self._c.call(
            "sendTransaction",
            [
                base64.b64encode(bytes(tx)).decode(),
                {
                    "encoding": "base64",
                    "skipPreflight": skip_preflight,
                    "preflightCommitment": "confirmed",
                },
            ],
        )
        return mapping.signature(r)

    async def simulate_transaction(
        self,
        tx: VersionedTransaction,
        *,
        sig_verify: bool = False,
        replace_recent_blockhash: bool = False,
        accounts: Sequence[Pubkey] = (),
    ) -> SimulationResult:
        config: dict[str, object] = {
            "encoding": "base64",
            "sigVerify": sig_verify,
            "replaceRecentBlockhash": replace_recent_blockhash,
            "commitment": "confirmed",
        }
        if accounts:
            config["accounts"] = {"addresses": [str(a) for a in accounts], "encoding": "base64"}
        r = await self._c.call(
            "simulateTransaction", [base64.b64encode(bytes(tx)).decode(), config]
        )
        return mapping.simulation(r)

    async def get_transaction(self, sig: Signature) -> LandedTransaction | None:
        r = await self._c.call(
            "getTransaction",
            [
                str(sig),
                {
                    "encoding": "json",
                    "commitment": "confirmed",
                    "maxSupportedTransactionVersion": 0,
                },
            ],
        )
        return mapping.transaction(r, sig)

    async def get_recent_prioritization_fees(
        self, accounts: Sequence[Pubkey]
    ) -> list[tuple[int, int]]:
        r = await self._c.call("getRecentPrioritizationFees", [[str(a) for a in accounts]])
        return mapping.prioritization_fees(r)
