"""Wallet crypto costs: what a signature costs when the signer is cached vs opened from its row.

Measures (median of N, microseconds): HKDF key derivation, seal, open (HKDF + AES-GCM + keypair
check), a cached-signer hit, an Ed25519 signature, a full SOL-withdrawal build+sign, and the PIN's
Argon2id (production parameters, run in a thread as the service does):

    .venv/bin/python bench/bench_wallet.py [--n 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from collections.abc import Callable

from solders.hash import Hash
from solders.keypair import Keypair

from sniper_bot.wallet.crypto import Keyring, open_sealed, seal
from sniper_bot.wallet.pin import PinHasher
from sniper_bot.wallet.sessions import SignerCache, UnlockedWallet
from sniper_bot.wallet.withdraw import preview_sol, sign_withdrawal


def median_us(n: int, step: Callable[[], object]) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5_000)
    args = parser.parse_args()
    n: int = args.n

    ring = Keyring.from_settings(secrets.token_hex(32))
    kp = Keypair()
    pk = str(kp.pubkey())
    sealed = seal(ring, bytes(kp), user_id=1, public_key=pk)
    cache = SignerCache(300, time.monotonic)
    unlocked = UnlockedWallet(1, 1, kp.pubkey(), kp)
    cache.put(unlocked)
    dest = str(Keypair().pubkey())
    blockhash = Hash.new_unique()

    rows = [
        ("HKDF key-encryption key", median_us(n, lambda: ring.kek(ring.current_id, sealed.salt))),
        (
            "seal 64-byte secret",
            median_us(n, lambda: seal(ring, bytes(kp), user_id=1, public_key=pk)),
        ),
        (
            "open row (decrypt + pubkey check)",
            median_us(n, lambda: open_sealed(ring, sealed, user_id=1, public_key=pk)),
        ),
        ("cached signer hit", median_us(n, lambda: cache.get(1, 1))),
        ("ed25519 sign 250 B", median_us(n, lambda: unlocked.sign_message(bytes(250)))),
        (
            "SOL withdrawal preview + build + sign",
            median_us(
                n,
                lambda: sign_withdrawal(
                    unlocked,
                    preview_sol(kp.pubkey(), dest, 1_000_000, balance_lamports=10**9),
                    blockhash,
                    1,
                ),
            ),
        ),
    ]
    hasher = PinHasher()
    encoded = asyncio.run(hasher.hash("480213"))

    async def verify_pins(k: int) -> list[float]:
        out = []
        for _ in range(k):
            start = time.perf_counter()
            await hasher.verify("480213", encoded)
            out.append(time.perf_counter() - start)
        return out

    pin = statistics.median(asyncio.run(verify_pins(10))) * 1e6
    rows.append(("PIN verify, Argon2id m=19 MiB t=2 (thread)", pin))
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  median µs (n={n}; PIN n=10)")
    for name, us in rows:
        print(f"{name:<{width}}  {us:10.1f}")


if __name__ == "__main__":
    main()
