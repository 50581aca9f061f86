"""The signer cache: sliding TTL on an injected clock, eviction, nothing serialisable."""

from __future__ import annotations

import copy
import pickle

import pytest
from solders.keypair import Keypair

from sniper_bot.wallet.sessions import SignerCache, UnlockedWallet


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _wallet(user_id: int = 1, wallet_id: int = 10) -> UnlockedWallet:
    kp = Keypair()
    return UnlockedWallet(user_id, wallet_id, kp.pubkey(), kp)


def test_signer_expires_ttl_after_last_use_not_after_first() -> None:
    clock = FakeClock()
    cache = SignerCache(300, clock)
    w = _wallet()
    cache.put(w)
    clock.now += 299
    assert cache.get(1, 10) is w
    clock.now += 299  # 598 s after put, 299 after last use
    assert cache.get(1, 10) is w
    clock.now += 300
    assert cache.get(1, 10) is None
    assert len(cache) == 0


def test_purge_drops_only_idle_signers() -> None:
    clock = FakeClock()
    cache = SignerCache(60, clock)
    cache.put(_wallet(1, 1))
    clock.now += 30
    cache.put(_wallet(1, 2))
    clock.now += 31
    assert cache.purge_expired() == 1
    assert cache.get(1, 1) is None
    assert cache.get(1, 2) is not None


def test_evict_user_leaves_other_users() -> None:
    cache = SignerCache(60, FakeClock())
    cache.put(_wallet(1, 1))
    cache.put(_wallet(1, 2))
    cache.put(_wallet(2, 3))
    cache.evict_user(1)
    assert len(cache) == 1
    assert cache.get(2, 3) is not None
    cache.evict(2, 3)
    assert len(cache) == 0


def test_zero_ttl_holds_nothing() -> None:
    cache = SignerCache(0, FakeClock())
    cache.put(_wallet())
    assert cache.get(1, 10) is None
    assert len(cache) == 0


def test_negative_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="TTL"):
        SignerCache(-1, FakeClock())


def test_unlocked_wallet_cannot_be_pickled_copied_or_printed_with_its_key() -> None:
    w = _wallet()
    with pytest.raises(TypeError, match="cannot be serialised"):
        pickle.dumps(w)
    with pytest.raises(TypeError, match="cannot be serialised"):
        copy.deepcopy(w)
    assert str(bytes(w.keypair)) not in repr(w)
    assert "keypair" not in repr(w)
    assert w.sign_message(b"m") == w.keypair.sign_message(b"m")
