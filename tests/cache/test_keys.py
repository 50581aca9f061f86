from __future__ import annotations

from sniper_bot.cache import keys


def test_runbook_key_names() -> None:
    assert keys.breaker("rpc_pool") == "circuit_breaker:rpc_pool"
    assert keys.breaker_override("rpc_pool") == "circuit_breaker:rpc_pool:state"
    assert keys.risk("So11111111111111111111111111111111111111112").startswith("risk:")


def test_probe_key_hash_tag_is_the_breaker_hash_name() -> None:
    # Redis Cluster hashes only the text inside {...}: same slot as the hash itself.
    probes = keys.breaker_probes("rpc_pool")
    assert probes == "{circuit_breaker:rpc_pool}:probes"
    assert probes[probes.index("{") + 1 : probes.index("}")] == keys.breaker("rpc_pool")
