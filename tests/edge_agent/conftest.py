"""Fixtures of the edge agent's tests: a short simulated patrol (vehicle + camera feed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.edge_agent.patrol import Patrol, PatrolConfig


@pytest.fixture
def patrol_factory() -> Iterator:
    made: list[Patrol] = []

    def make(**kw) -> Patrol:
        p = Patrol(PatrolConfig(**kw)).start()
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()
