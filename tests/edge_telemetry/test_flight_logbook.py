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


def test_an_agent_restarted_in_flight_goes_on_with_the_same_record(tmp_path) -> None:
    """The checkpoint is all a ``kill -9`` leaves: the new agent carries the flight on from it."""
    state, t = tmp_path / "o.db.flight.json", 1_796_000_000.0
    before = FlightLog("d1", state, checkpoint_s=5.0)
    first = [battery(90), heartbeat("GUIDED", False), heartbeat("AUTO", True)]
    first += [position(n, 30) for n in range(0, 201, 10)]
    assert [before.feed(m, t + k) for k, m in enumerate(first)] == [None] * len(first)
    assert state.exists()  # and the agent dies here, without a word
    after = FlightLog("d1", state, checkpoint_s=5.0)
    assert after.recorder.flying and after.recorder.armed_at == t + 2
    rest = [
        heartbeat("AUTO", True),
        *(position(n, 30) for n in range(200, -1, -10)),
        heartbeat("LAND", False),
    ]
    out = [after.feed(m, t + 60 + k) for k, m in enumerate(rest)]
    (flight,) = [f for f in out if f is not None]
    assert flight.flight_id == "d1-20261130T005322Z" and round(flight.distance_m) == 400  # out and back
    assert state.exists()  # until the flight is in the outbox ...
    after.landed_and_queued()
    assert not state.exists()  # ... then the outbox keeps it


def test_a_landing_the_agent_did_not_hear_ends_the_flight_where_it_was_last_checkpointed(tmp_path) -> None:
    state, t = tmp_path / "flight.json", 1_796_000_000.0
    before = FlightLog("d1", state, checkpoint_s=5.0)
    for k, m in enumerate([heartbeat("AUTO", True), *(position(n, 30) for n in range(0, 101, 10))]):
        before.feed(m, t + k)
    after = FlightLog("d1", state)  # back an hour later, on the ground
    (flight,) = [f for f in (after.feed(heartbeat("LOITER", False), t + 3600),) if f is not None]
    assert (flight.disarmed_at.timestamp() - t) == 10.0  # the last checkpoint, not the hour after
    assert flight.warnings[-1].text.startswith("RiverPatrol: the edge agent restarted in flight")


def test_a_torn_or_foreign_checkpoint_starts_afresh(tmp_path) -> None:
    state = tmp_path / "flight.json"
    state.write_text('{"at": 1, "recorder": {"vehic')
    assert not FlightLog("d1", state).recorder.flying
    before = FlightLog("d2", state, checkpoint_s=1.0)
    for k, m in enumerate([heartbeat("AUTO", True), position(0, 30), position(50, 30)]):
        before.feed(m, 1_796_000_000.0 + k)
    assert FlightLog("d2", state).recorder.flying  # d2's own flight goes on ...
    assert not FlightLog("d1", state).recorder.flying  # ... another drone's is not ours to go on with


def test_a_flight_that_cannot_be_a_record_is_said_and_skipped(caplog) -> None:
    log = FlightLog("drone 1")  # a space: no flight id on the wire may carry it
    with caplog.at_level("WARNING", logger="edge.telemetry.logbook"):
        assert [f for f in fly(log, 1_796_000_000.0, 20.0) if f is not None] == []
    assert log.skipped == 1 and "flight not logged" in caplog.text
    assert not log.recorder.flying  # ready for the next
