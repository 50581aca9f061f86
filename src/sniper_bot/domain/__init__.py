"""Pure domain values: stdlib only, money in integers (lamports, token base units)."""
