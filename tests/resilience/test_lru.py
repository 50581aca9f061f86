from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.resilience.lru import LruCache

from .fakes import FakeClock


def test_least_recently_used_item_is_evicted_and_counted() -> None:
    lru: LruCache[str, int] = LruCache(2, FakeClock())
    lru.set("a", 1)
    lru.set("b", 2)
    assert lru.get("a") == 1  # touch a: b is now the oldest
    lru.set("c", 3)
    assert lru.get("b") is None
    assert (lru.get("a"), lru.get("c")) == (1, 3)
    assert lru.evictions == 1
    assert len(lru) == 2


def test_expired_item_is_absent_fresh_but_served_stale_with_its_age() -> None:
    clock = FakeClock()
    lru: LruCache[str, str] = LruCache(10, clock)
    lru.set("slot", "v1", ttl_s=2.0)
    clock.advance(1.9)
    assert lru.get("slot") == "v1"
    clock.advance(0.1)
    assert lru.get("slot") is None
    clock.advance(3.0)
    assert lru.get_stale("slot") == ("v1", 5.0)
    assert lru.get_stale("missing") is None


def test_overwrite_resets_ttl_and_delete_removes() -> None:
    clock = FakeClock()
    lru: LruCache[str, int] = LruCache(10, clock)
    lru.set("k", 1, ttl_s=1.0)
    clock.advance(0.9)
    lru.set("k", 2, ttl_s=1.0)
    clock.advance(0.9)
    assert lru.get("k") == 2
    assert lru.ttl("k") is not None
    assert lru.delete("k") is True
    assert lru.get_stale("k") is None
    assert lru.delete("k") is False


@given(ops=st.lists(st.tuples(st.sampled_from(["set", "get"]), st.integers(0, 20)), max_size=200))
def test_size_bound_eviction_count_and_latest_write_wins(ops: list[tuple[str, int]]) -> None:
    lru: LruCache[int, int] = LruCache(5, FakeClock())
    model: dict[int, int] = {}
    inserted_new = 0
    for step, (op, key) in enumerate(ops):
        if op == "set":
            inserted_new += key not in lru
            lru.set(key, step)
            model[key] = step
            assert lru.get(key) == step  # the newest item is never the one evicted
        else:
            got = lru.get(key)
            assert got is None or got == model[key]
        assert len(lru) <= 5
        assert len(lru) + lru.evictions == inserted_new
