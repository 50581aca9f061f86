"""The pre-send simulation of a signed swap, with the co-signer outflow proof.

Without co-signers it is a plain ``simulateTransaction``. With co-signers (``"presigned"`` policy
or an allow-listed key) the wallet's balance is read alongside and the simulation returns the
wallet account after the swap: more SOL leaving than quote + fees + rent refuses the swap.
"""

from __future__ import annotations

import asyncio

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sniper_bot.chain.types import SimulationResult
from sniper_bot.domain.orders import OrderErrorType
from sniper_bot.trading.errors import SwapVerificationError
from sniper_bot.trading.ports import ChainPort
from sniper_bot.trading.verify import VerifiedSwap, VerifyPolicy, check_outflow

__all__ = ["simulate_checked"]


async def simulate_checked(
    rpc: ChainPort,
    signed: VersionedTransaction,
    verified: VerifiedSwap,
    owner: Pubkey,
    spend_lamports: int,
    policy: VerifyPolicy,
) -> SimulationResult:
    """Simulate ``signed``; raise ``SwapVerificationError`` if co-signers would overdraw."""
    if not verified.cosigners:
        return await rpc.simulate_transaction(signed)
    pre, sim = await asyncio.gather(
        rpc.get_balance(owner),
        rpc.simulate_transaction(signed, accounts=[owner]),
    )
    if sim.err is None:
        post = sim.accounts[0] if sim.accounts else None
        if post is None:
            raise SwapVerificationError(
                "the simulation did not return the wallet account; cannot check the outflow",
                error_type=OrderErrorType.REJECTED,
            )
        check_outflow(
            verified,
            spend_lamports=spend_lamports,
            pre_lamports=pre,
            post_lamports=post.lamports,
            policy=policy,
        )
    return sim
