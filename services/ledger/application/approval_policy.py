"""Which disbursements need a second person, and for how long a request stays open."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

# 50,000,000 KZT in tiyn: above it, a disbursement waits for a second person by default.
DEFAULT_THRESHOLDS: Mapping[str, int] = {"KZT": 5_000_000_000}
DEFAULT_TTL = dt.timedelta(hours=72)


@dataclass(frozen=True)
class ApprovalPolicy:
    """Per-currency thresholds in minor units: a disbursement *above* one waits.

    A currency with no threshold has no safe default, so every disbursement in it
    waits for approval.
    """

    thresholds: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    ttl: dt.timedelta = DEFAULT_TTL

    def needs_approval(self, amount: int, currency: str) -> bool:
        limit = self.thresholds.get(currency)
        return limit is None or amount > limit

    def deadline(self, now: dt.datetime) -> dt.datetime:
        return now + self.ttl
