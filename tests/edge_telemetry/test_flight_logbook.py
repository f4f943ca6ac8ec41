"""The drone's own logbook: each flight out at its landing, an arming on the ground not at all."""

from __future__ import annotations

from edge.telemetry.logbook import FlightLog
from tests.contract.test_flightlog import battery, heartbeat, position


def fly(log: FlightLog, t: float, alt_m: float, metres: int = 100) -> list:
    """Arm, fly ``metres`` north at ``alt_m`` (a point a second), come back, disarm; what ``feed`` gave."""
    msgs = [battery(90), heartbeat("GUIDED", False), heartbeat("GUIDED", True)]
    msgs += [position(n, alt_m) for n in (*range(0, metres + 1, 10), *range(metres, -1, -10))]
    msgs += [battery(80), heartbeat("LAND", False), position(0, 0)]
    return [log.feed(m, t + k) for k, m in enumerate(msgs)]


def test_each_landed_flight_comes_out_once_and_the_next_starts_afresh() -> None:
    log = FlightLog("d1")
    first = [f for f in fly(log, 1_796_000_000.0, 20.0) if f is not None]
    second = [f for f in fly(log, 1_796_000_600.0, 25.0, metres=50) if f is not None]
    assert len(first) == len(second) == 1
    a, b = first[0], second[0]
    assert a.flight_id == "d1-20261130T005322Z" and b.flight_id == "d1-20261130T010322Z"
    assert round(a.distance_m) == 200 and round(b.distance_m) == 100  # each its own track
    assert (a.max_alt_m, b.max_alt_m) == (20.0, 25.0) and a.battery_used_pct == b.battery_used_pct == 10.0
    assert [m.mode for m in a.modes] == ["GUIDED", "LAND"] == [m.mode for m in b.modes]
    assert log.logged == 2 and log.skipped == 0


def test_an_arming_on_the_ground_is_no_flight() -> None:
    log = FlightLog("d1")
    assert [f for f in fly(log, 1_796_000_000.0, 0.5) if f is not None] == []  # a motor test
    assert log.skipped == 1 and log.logged == 0
    assert not log.recorder.flying and log.recorder.track == []  # ready for the next
