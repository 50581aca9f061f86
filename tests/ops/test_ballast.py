"""``MemoryBallast``: the memory the memory-pressure drill makes the bot hold (CHAOS_ENABLED)."""

from __future__ import annotations

import pytest

from sniper_bot.ops.chaos import MemoryBallast


def test_the_ballast_holds_resident_memory_and_gives_it_back() -> None:
    def rss_mib() -> float:
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(x for x in status if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024

    ballast = MemoryBallast(max_mib=192)
    before = rss_mib()
    assert ballast.hold(128) == 128
    assert rss_mib() - before > 100  # written pages, not a lazy mapping
    with pytest.raises(ValueError, match="at most 192 MiB"):
        ballast.hold(65)
    assert ballast.release() == 128
    assert ballast.held_mib == 0
    assert rss_mib() - before < 64  # mmap'd chunks went back to the system at once
    with pytest.raises(ValueError, match="at most 192 MiB"):
        ballast.hold(0)
