"""Trading: venues (Jupiter), the crash-safe executor, priority fees, recovery."""
