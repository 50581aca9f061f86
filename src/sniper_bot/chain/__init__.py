"""Chain access: JSON-RPC client, endpoint pool with failover, typed facade, subscriptions.

Import from the modules: ``chain.rpc.SolanaRpc``, ``chain.pool.RpcPool``,
``chain.endpoints.endpoints_from_urls``, ``chain.ws.SubscriptionManager``,
``chain.latency.probe_endpoints``, ``chain.errors``, ``chain.types``.
"""
