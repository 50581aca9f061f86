"""Mainnet-shaped Solana JSON-RPC (HTTP) and PubSub (WebSocket) servers over a `Cluster`."""
