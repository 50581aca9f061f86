"""Revisions, ordered ids ``0001_initial``, ``0002_...`` (file names start with ``r``)."""
