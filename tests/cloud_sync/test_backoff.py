"""Backoff delays: exponential growth, capped, jittered within [d/2, d]."""

from __future__ import annotations

import random

import pytest

from cloud.sync.backoff import backoff_delay


def test_grows_exponentially_then_caps():
    lo = [backoff_delay(a, 1.0, 60.0, random.Random(0)) for a in range(1, 12)]
    for attempt, d in enumerate(lo, start=1):
        full = min(60.0, 2.0 ** (attempt - 1))
        assert full / 2 <= d <= full
    assert max(lo) <= 60.0


def test_jitter_spreads_retries():
    rng = random.Random(1)
    delays = {round(backoff_delay(5, 1.0, 300.0, rng), 6) for _ in range(50)}
    assert len(delays) > 40
    assert min(delays) >= 8.0
    assert max(delays) <= 16.0


def test_huge_attempt_counts_do_not_overflow():
    assert backoff_delay(10_000, 0.5, 30.0, random.Random(2)) <= 30.0


@pytest.mark.parametrize(("attempt", "base", "cap"), [(0, 1.0, 1.0), (1, 0.0, 1.0), (1, 1.0, -1.0)])
def test_rejects_nonsense(attempt, base, cap):
    with pytest.raises(ValueError):
        backoff_delay(attempt, base, cap)
