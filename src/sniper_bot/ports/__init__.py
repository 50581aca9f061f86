"""Seams shared by several packages: the Protocols one package implements and others call, and
the errors that cross them. Imports only ``domain`` and ``errors`` (and the standard library),
so any layer may depend on it without reaching sideways into another.

* ``venue``  the quoting port (``Quoter``, ``Venue``) and the venue errors every caller sorts by.
* ``risk``   ``RiskVerdict``, ``RiskChecker``: a risk check (``domain.risk.RiskReport`` fits).
* ``stores`` errors every store raises when a compare-and-set loses.
"""
