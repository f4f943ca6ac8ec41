"""Retry delays: exponential backoff with full jitter.

Jitter matters because every connector of every cloud instance retries a down CIM endpoint at
once when it comes back; spreading the retries avoids hammering it into falling over again.
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, base_s: float, cap_s: float, rand: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = first retry): uniform in [d/2, d],
    where d = min(cap, base * 2**(attempt-1)). Half-jitter keeps a floor so retries never storm."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if base_s <= 0 or cap_s <= 0:
        raise ValueError(f"base_s and cap_s must be > 0, got {base_s}, {cap_s}")
    d = min(cap_s, base_s * 2.0 ** min(attempt - 1, 62))
    r = (rand or random).random()
    return d / 2 + r * d / 2
