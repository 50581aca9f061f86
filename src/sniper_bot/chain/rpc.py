"""``SolanaRpc``: the typed facade every other package calls; one method per RPC method used.

Reads of balances, accounts, token supply and the blockhash go through the degraded cache (a stale
answer beats none when every endpoint refuses); writes never do. ``read_*`` variants return
``Read`` with the ``stale`` marker for callers that must know.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from typing import Any

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from sniper_bot.chain import mapping
from sniper_bot.chain.blockhash import BlockhashCache
from sniper_bot.chain.pool import Read, RpcPool
from sniper_bot.chain.types import (
    Commitment,
    LandedTransaction,
    SignatureStatus,
    SimulationResult,
    TokenAccountInfo,
)

__all__ = ["SolanaRpc"]

_ACCOUNTS_PER_CALL = 100
_SIGNATURES_PER_CALL = 256
_BLOCKHASH_MAX_STALE_S = 45.0  # ~110 of the 150 blocks a blockhash stays valid
_READ_TTL_S = 30.0


def _b64(tx: VersionedTransaction) -> str:
    return base64.b64encode(bytes(tx)).decode()


class SolanaRpc:
    def __init__(
        self, pool: RpcPool, *, blockhash_refresh_s: float = 2.0, blockhash_margin_blocks: int = 30
    ) -> None:
        self.pool = pool
        self.blockhash_cache = BlockhashCache(
            self.get_latest_blockhash,
            lambda: self.get_block_height("processed"),  # the cache judges hashes by this height
            refresh_s=blockhash_refresh_s,
            margin_blocks=blockhash_margin_blocks,
        )

    async def run_background(self, health_interval_s: float | None = None) -> None:
        """Blockhash refresh + endpoint health probe; run inside the app's TaskGroup."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.blockhash_cache.run())
            group.create_task(self.pool.run_health_checks(health_interval_s))

    async def recent_blockhash(self) -> tuple[Hash, int]:
        """(blockhash, lastValidBlockHeight) from memory when fresh: no round trip when hot."""
        return await self.blockhash_cache.get()

    def blockhash_rejected(self, blockhash: Hash) -> None:
        """A simulation said ``blockhash`` is unknown: the cache must not hand it out again."""
        self.blockhash_cache.forget(blockhash)

    # ------------------------------------------------------------------------------ reads
    async def get_slot(self, commitment: Commitment = "confirmed") -> int:
        return await self.pool.request("getSlot", [{"commitment": commitment}], parse=mapping.slot)

    async def get_block_height(self, commitment: Commitment = "confirmed") -> int:
        return await self.pool.request(
            "getBlockHeight", [{"commitment": commitment}], parse=mapping.slot
        )

    async def get_latest_blockhash(self, commitment: Commitment = "confirmed") -> tuple[Hash, int]:
        read = await self.pool.read(
            "getLatestBlockhash",
            [{"commitment": commitment}],
            cache_key=("blockhash", commitment),
            parse=mapping.blockhash,
            ttl_s=2.0,
            max_stale_s=_BLOCKHASH_MAX_STALE_S,
        )
        return read.value

    async def read_balance(self, pubkey: Pubkey) -> Read[int]:
        return await self.pool.read(
            "getBalance",
            [str(pubkey), {"commitment": "confirmed"}],
            cache_key=("balance", str(pubkey)),
            parse=mapping.balance,
            ttl_s=_READ_TTL_S,
        )

    async def get_balance(self, pubkey: Pubkey) -> int:
        return (await self.read_balance(pubkey)).value

    async def read_account_info(self, pubkey: Pubkey) -> Read[Account | None]:
        return await self.pool.read(
            "getAccountInfo",
            [str(pubkey), {"encoding": "base64", "commitment": "confirmed"}],
            cache_key=("account", str(pubkey)),
            parse=mapping.account_info,
            ttl_s=_READ_TTL_S,
        )

    async def get_account_info(self, pubkey: Pubkey) -> Account | None:
        return (await self.read_account_info(pubkey)).value

    async def get_multiple_accounts(
        self, pubkeys: Sequence[Pubkey], commitment: Commitment = "confirmed"
    ) -> list[Account | None]:
        chunks = [
            [str(k) for k in pubkeys[i : i + _ACCOUNTS_PER_CALL]]
            for i in range(0, len(pubkeys), _ACCOUNTS_PER_CALL)
        ]

        async def one(chunk: list[str]) -> list[Account | None]:
            read = await self.pool.read(
                "getMultipleAccounts",
                [chunk, {"encoding": "base64", "commitment": commitment}],
                cache_key=("accounts", commitment, tuple(chunk)),
                parse=mapping.accounts,
                ttl_s=_READ_TTL_S,
            )
            return read.value

        parts = await asyncio.gather(*(one(c) for c in chunks))
        return [a for part in parts for a in part]

    async def get_multiple_accounts_processed(
        self, pubkeys: Sequence[Pubkey]
    ) -> list[Account | None]:
        """The newest state (`processed`): what a venue prices a trade from. At `confirmed` a
        curve or pool is a slot behind the bank the trade executes in (a coin created in the
        last slot is not there yet, reserves miss the last slot's trades)."""
        return await self.get_multiple_accounts(pubkeys, "processed")

    async def get_token_accounts_by_owner(
        self, owner: Pubkey, program_id: Pubkey
    ) -> list[TokenAccountInfo]:
        def parse(result: Any) -> list[TokenAccountInfo]:
            return mapping.token_accounts(result, program_id)

        read = await self.pool.read(
            "getTokenAccountsByOwner",
            [
                str(owner),
                {"programId": str(program_id)},
                {"encoding": "jsonParsed", "commitment": "confirmed"},
            ],
            cache_key=("token_accounts", str(owner), str(program_id)),
            parse=parse,
            ttl_s=_READ_TTL_S,
        )
        return read.value

    async def get_token_largest_accounts(self, mint: Pubkey) -> list[tuple[Pubkey, int]]:
        return await self.pool.request(
            "getTokenLargestAccounts",
            [str(mint), {"commitment": "confirmed"}],
            parse=mapping.largest_accounts,
        )

    async def get_token_supply(self, mint: Pubkey) -> tuple[int, int]:
        read = await self.pool.read(
            "getTokenSupply",
            [str(mint), {"commitment": "confirmed"}],
            cache_key=("supply", str(mint)),
            parse=mapping.token_supply,
            ttl_s=_READ_TTL_S,
        )
        return read.value

    async def get_signature_statuses(
        self, sigs: Sequence[Signature]
    ) -> list[SignatureStatus | None]:
        chunks = [
            [str(s) for s in sigs[i : i + _SIGNATURES_PER_CALL]]
            for i in range(0, len(sigs), _SIGNATURES_PER_CALL)
        ]
        parts = await asyncio.gather(
            *(
                self.pool.request(
                    "getSignatureStatuses",
                    [chunk, {"searchTransactionHistory": True}],
                    parse=mapping.signature_statuses,
                )
                for chunk in chunks
            )
        )
        return [s for part in parts for s in part]

    async def get_transaction(self, sig: Signature) -> LandedTransaction | None:
        def parse(result: Any) -> LandedTransaction | None:
            return mapping.transaction(result, sig)

        return await self.pool.request(
            "getTransaction",
            [
                str(sig),
                {
                    "encoding": "json",
                    "commitment": "confirmed",
                    "maxSupportedTransactionVersion": 0,
                },
            ],
            parse=parse,
        )

    async def get_recent_prioritization_fees(
        self, accounts: Sequence[Pubkey]
    ) -> list[tuple[int, int]]:
        return await self.pool.request(
            "getRecentPrioritizationFees",
            [[str(a) for a in accounts[:128]]],
            parse=mapping.prioritization_fees,
        )

    # ------------------------------------------------------------------------------ writes
    async def send_transaction(
        self, tx: VersionedTransaction, *, skip_preflight: bool = False, fanout: int = 1
    ) -> Signature:
        """Send a signed transaction; "sent" is not "landed": confirm with statuses."""
        config: dict[str, Any] = {
            "encoding": "base64",
            "skipPreflight": skip_preflight,
            "preflightCommitment": "confirmed",
        }
        return await self.pool.send(
            "sendTransaction", [_b64(tx), config], parse=mapping.signature, fanout=fanout
        )

    async def simulate_transaction(
        self,
        tx: VersionedTransaction,
        *,
        sig_verify: bool = False,
        replace_recent_blockhash: bool = False,
        accounts: Sequence[Pubkey] = (),
    ) -> SimulationResult:
        config: dict[str, Any] = {
            "encoding": "base64",
            "sigVerify": sig_verify,
            "replaceRecentBlockhash": replace_recent_blockhash,
            "commitment": "confirmed",
        }
        if accounts:
            config["accounts"] = {"addresses": [str(a) for a in accounts], "encoding": "base64"}
        return await self.pool.request(
            "simulateTransaction", [_b64(tx), config], parse=mapping.simulation
        )

    async def request_airdrop(self, pubkey: Pubkey, lamports: int) -> Signature:
        """Devnet/localnet only. Not idempotent: never resent after an ambiguous failure."""
        return await self.pool.request(
            "requestAirdrop",
            [str(pubkey), lamports, {"commitment": "confirmed"}],
            parse=mapping.signature,
            idempotent=False,
        )
