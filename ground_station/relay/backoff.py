"""Retry delays: exponential backoff with full jitter (AWS architecture blog's recommendation).

Full jitter spreads a fleet of relays that all saw the same outage, so they do not hammer the
cloud in lockstep when it comes back.
"""

from __future__ import annotations

import random


def backoff_delay(
    attempt: int, base_s: float = 0.5, cap_s: float = 30.0, rng: random.Random | None = None
) -> float:
    """Seconds before retry ``attempt`` (1 = first): uniform in [0, min(cap, base * 2^(attempt-1))]."""
    if attempt < 1:
        return 0.0
    ceiling = min(cap_s, base_s * (2 ** (attempt - 1)))
    return (rng or random).uniform(0.0, ceiling)
