"""Token safety: a multi-layer honeypot and rug check that explains itself (see docs/SAFETY.md).

Layers are small pure checks over a fetched ``TokenSnapshot``; ``scoring`` combines their findings
into a ``RiskReport``; ``fetch`` builds the snapshot with as few round trips as possible;
``service.RiskService`` caches, de-duplicates and persists reports.
"""
