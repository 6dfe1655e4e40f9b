"""Probes: the I/O edge that reads facts from MongoDB (and, later, PMM)."""
