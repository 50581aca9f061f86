"""Solana facts in one place: program ids, PDAs, account layouts and instruction encoders."""
