"""Exports of the read models for tools that are not ours: hledger/ledger journals, CSV,
IATI activity XML and 360Giving JSON. Each streams from one pinned snapshot."""
