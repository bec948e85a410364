"""Moments as the read-model tables store them."""

from __future__ import annotations

import datetime as dt


def db_moment(moment: dt.datetime, dialect: str) -> dt.datetime:
    """UTC; naive on SQLite, which stores no offset, so comparisons stay correct."""
    utc = moment.astimezone(dt.UTC)
    return utc.replace(tzinfo=None) if dialect == "sqlite" else utc


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A query parameter without an offset is read as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
