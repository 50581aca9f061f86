"""Hot path build cost: ``build_curve_buy`` (four PDAs, message compile, ed25519 sign,
serialise) per launch, against one bare ed25519 signature of a message of the same size in
the same run (the physical floor), as a ratio:

    .venv/bin/python bench/bench_hotpath_build.py [--n 3000]

Every build is for a new mint (its PDAs are not cached anywhere); launches are made before the
clock starts. Reports median and p99 in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from localnet.pump.state import (
    FEE_CONFIG_LAYOUT,
    FEE_CONFIG_SIZE,
    GLOBAL_LAYOUT,
    GLOBAL_SIZE,
    encode_account,
    genesis_fee_config,
    genesis_global,
)
from sniper_bot.hotpath.build import CurveLaunch, PreparedBuy, build_curve_buy
from sniper_bot.solana import pumpfun as pf


def timed_us(steps: list[Callable[[], object]]) -> list[float]:
    samples = []
    for step in steps:
        start = time.perf_counter()
        step()
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3_000)
    n: int = parser.parse_args().n

    g = pf.decode_global(encode_account("Global", GLOBAL_LAYOUT, genesis_global(), GLOBAL_SIZE))
    fc = pf.decode_fee_config(
        encode_account("FeeConfig", FEE_CONFIG_LAYOUT, genesis_fee_config(), FEE_CONFIG_SIZE)
    )
    key = Keypair()
    prepared = PreparedBuy(
        user=key.pubkey(), sign=key.sign_message, amount_lamports=100_000_000, slippage_bps=500,
        compute_unit_limit=120_000, compute_unit_price_micro_lamports=100_000,
        nonce_account=Pubkey.new_unique(), nonce_value=Hash.new_unique(), global_=g,
        fee_config=fc, fee_recipient=g.fee_recipient,
        mayhem_fee_recipient=g.reserved_fee_recipient,
        buyback_fee_recipient=g.buyback_fee_recipients[0], tip_lamports=1_000_000,
        tip_account=Pubkey.new_unique(),
    )  # fmt: skip
    launches = []
    for _ in range(n):
        mint = Keypair().pubkey()
        launches.append(CurveLaunch(
            mint=mint, bonding_curve=pf.bonding_curve_address(mint), creator=Keypair().pubkey(),
            token_program=pf.TOKEN_2022_PROGRAM_ID,
            virtual_token_reserves=g.initial_virtual_token_reserves,
            virtual_sol_reserves=g.initial_virtual_sol_reserves,
            real_token_reserves=g.initial_real_token_reserves,
            token_total_supply=g.token_total_supply,
        ))  # fmt: skip
    sample = build_curve_buy(prepared, launches[0])
    message = to_bytes_versioned(VersionedTransaction.from_bytes(sample.tx_bytes).message)
    messages = [bytes(message[:-8]) + i.to_bytes(8, "little") for i in range(n)]

    # interleave the two measurements in rounds so both see the same machine load
    builds: list[float] = []
    signs: list[float] = []
    rounds = 10
    per = n // rounds
    for r in range(rounds):
        part = slice(r * per, (r + 1) * per)
        builds += timed_us([lambda x=x: build_curve_buy(prepared, x) for x in launches[part]])
        signs += timed_us([lambda m=m: key.sign_message(m) for m in messages[part]])

    build_med, sign_med = statistics.median(builds), statistics.median(signs)
    size = len(sample.tx_bytes)
    print(f"transaction: {size} bytes, {len(message)}-byte message, n={len(builds)}")
    print(f"{'step':40s} {'median us':>10s} {'p99 us':>10s}")
    print(f"{'bare ed25519 sign (same message size)':40s} {sign_med:10.1f} {p99(signs):10.1f}")
    print(f"{'build_curve_buy (sign included)':40s} {build_med:10.1f} {p99(builds):10.1f}")
    print(f"ratio build / sign (median): {build_med / sign_med:.2f}x")
    print(f"budget: {2000 / build_med:.0f} builds fit in the 2 ms event-to-wire goal")


if __name__ == "__main__":
    main()
