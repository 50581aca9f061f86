"""The feed stream's backend: Redis Streams vs NATS JetStream, same run, this machine.

    .venv/bin/python bench/bench_stream.py [--messages 5000] [--latency 2000]

Redis: 127.0.0.1:6379 (db 15, a bench stream deleted afterwards); NATS: 127.0.0.1:4222 with
JetStream (a file-backed bench stream, deleted afterwards; needs ``pip install nats-py``).
Latency: one message at a time, publish -> the consumer (its own connection) has it, p50/p99.
Throughput: ``--messages`` published back to back (Redis: the cluster's fenced Lua publish in
batches of 200, as ClusteredFeed does; NATS: async publishes acked together), consumed by one
reader, messages/s end to end. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

PAYLOAD = b"x" * 600  # about a pump.fun create's logs notification


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, lat: list[float], rate: float) -> None:
    p50, p99 = statistics.median(lat) * 1e3, pct(lat, 0.99) * 1e3
    print(f"{name:<16} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  throughput {rate:9.0f} msg/s")


async def bench_redis(messages: int, rounds: int) -> None:
    from redis.asyncio import Redis

    from sniper_bot.cluster.store import ClusterStore

    pub, sub = Redis(db=15), Redis(db=15)
    store = ClusterStore(pub, prefix="bench")
    await pub.delete(store.events_key("ws"), store.launches_key("ws"), store.lease_key("ws"))
    token = await store.acquire("ws", "bench", 60_000)
    key = store.events_key("ws")
    last = "0-0"
    lat: list[float] = []
    try:
        for i in range(rounds):
            reader = asyncio.create_task(sub.xread({key: last}, count=1, block=1000))
            await asyncio.sleep(0)
            t0 = time.perf_counter()
            await store.publish("ws", "bench", token, [(f"l{i}", False, PAYLOAD)])
            got = await reader
            lat.append(time.perf_counter() - t0)
            last = got[0][1][0][0].decode()
        t0 = time.perf_counter()
        seen = 0

        async def consume() -> None:
            nonlocal seen, last
            while seen < messages:
                got = await sub.xread({key: last}, count=1000, block=1000)
                for _, entries in got or []:
                    seen += len(entries)
                    last = entries[-1][0].decode()

        reader = asyncio.create_task(consume())
        for start in range(0, messages, 200):
            batch = [(f"t{i}", False, PAYLOAD) for i in range(start, min(messages, start + 200))]
            await store.publish("ws", "bench", token, batch)
        await reader
        report("redis streams", lat, messages / (time.perf_counter() - t0))
    finally:
        await pub.delete(
            key, store.launches_key("ws"), store.lease_key("ws"), store.token_key("ws")
        )
        keys = [k async for k in pub.scan_iter("bench:seen:*", count=10_000)]
        for i in range(0, len(keys), 1000):
            await pub.delete(*keys[i : i + 1000])
        await pub.aclose()
        await sub.aclose()


async def bench_nats(messages: int, rounds: int) -> None:
    try:
        import nats
    except ImportError:
        print("nats            skipped: pip install nats-py")
        return
    nc = await nats.connect("nats://127.0.0.1:4222")
    nc2 = await nats.connect("nats://127.0.0.1:4222")
    js, js2 = nc.jetstream(), nc2.jetstream()
    try:
        await js.add_stream(name="BENCH", subjects=["bench.>"])
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def handler(msg: Any) -> None:
            queue.put_nowait(msg)

        sub = await js2.subscribe("bench.ws", cb=handler, manual_ack=False, ordered_consumer=True)
        lat: list[float] = []
        for i in range(rounds):
            t0 = time.perf_counter()
            await js.publish("bench.ws", PAYLOAD, headers={"Nats-Msg-Id": f"l{i}"})
            await queue.get()
            lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        acks = []
        for i in range(messages):
            acks.append(js.publish("bench.ws", PAYLOAD, headers={"Nats-Msg-Id": f"t{i}"}))
            if len(acks) >= 200:
                await asyncio.gather(*acks)
                acks = []
        await asyncio.gather(*acks)
        for _ in range(messages):
            await queue.get()
        report("nats jetstream", lat, messages / (time.perf_counter() - t0))
        await sub.unsubscribe()
    except Exception as exc:
        print(f"nats            unavailable: {type(exc).__name__}: {exc}")
    finally:
        try:
            await js.delete_stream("BENCH")
        except Exception as exc:  # never created
            print(f"(nats stream not deleted: {type(exc).__name__})")
        await nc.close()
        await nc2.close()


async def main(args: argparse.Namespace) -> None:
    print(f"payload {len(PAYLOAD)} B, latency over {args.latency} single messages, "
          f"throughput over {args.messages}")  # fmt: skip
    await bench_redis(args.messages, args.latency)
    await bench_nats(args.messages, args.latency)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--latency", type=int, default=2000)
    asyncio.run(main(parser.parse_args()))
