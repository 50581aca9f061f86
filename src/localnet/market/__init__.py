"""Constant-product pools held by a market maker, and a Jupiter-compatible API over them."""

from localnet.market.market import JUPITER_PROGRAM_ID, Market, MarketError, Pool, Quote
from localnet.market.pricing import TransferFee

__all__ = ["JUPITER_PROGRAM_ID", "Market", "MarketError", "Pool", "Quote", "TransferFee"]
