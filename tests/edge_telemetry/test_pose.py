"""Pose history: interpolation, yaw/longitude wrap, and behaviour at and beyond its edges."""

from __future__ import annotations

import pytest

from edge.telemetry.pose import PoseHistory, PoseUnavailable, lerp, wrap


def test_wrap_and_lerp_take_the_short_way_round() -> None:
    assert wrap(190.0, 360.0) == pytest.approx(-170.0)
    assert wrap(-180.0, 360.0) == pytest.approx(-180.0)
    assert lerp(170.0, -170.0, 0.5, 360.0) == pytest.approx(-180.0)
    assert lerp(170.0, -170.0, 0.25, 360.0) == pytest.approx(175.0)
    assert lerp(-170.0, 170.0, 0.25, 360.0) == pytest.approx(-175.0)
    assert lerp(1.0, 3.0, 0.5) == pytest.approx(2.0)


def _history(**kw: float) -> PoseHistory:
    h = PoseHistory(span_s=10.0, max_extrapolation_s=kw.get("extra", 0.5), max_gap_s=kw.get("gap", 1.0))
    for i in range(11):  # 10 Hz for one second
        t = i / 10
        h.add_position(t, 22.5 + t * 1e-4, 179.99995 + t * 1e-4, 30.0 + t, 35.0 + t)
        h.add_attitude(t, 0.0, 2.0 * t, 175.0 + 10.0 * t)  # yaw crosses +180 -> -180 at t=0.5
    return h


def test_interpolates_position_and_attitude_between_samples() -> None:
    p = _history().pose_at(0.25)
    assert p.lat == pytest.approx(22.5 + 0.25e-4)
    assert p.alt_rel_m == pytest.approx(30.25)
    assert p.alt_msl_m == pytest.approx(35.25)
    assert p.pitch_deg == pytest.approx(0.5)
    assert not p.extrapolated


def test_yaw_and_longitude_wrap_around_the_antimeridian() -> None:
    p = _history().pose_at(0.55)
    assert p.yaw_deg == pytest.approx(-179.5)  # 175 + 5.5 = 180.5 -> -179.5, not ~0
    assert p.lon == pytest.approx(-179.999995)  # 179.99995 + 0.55e-4 wraps to the west side


def test_exact_sample_times_return_the_sample() -> None:
    h = _history()
    assert h.pose_at(0.0).lat == pytest.approx(22.5)
    assert h.pose_at(1.0).alt_rel_m == pytest.approx(31.0)
    assert not h.pose_at(1.0).extrapolated


def test_extrapolates_a_little_past_either_end_and_says_so() -> None:
    h = _history(extra=0.5)
    after = h.pose_at(1.2)
    assert after.extrapolated
    assert after.alt_rel_m == pytest.approx(31.2)
    before = h.pose_at(-0.3)
    assert before.extrapolated
    assert before.alt_rel_m == pytest.approx(29.7)


def test_refuses_beyond_the_extrapolation_limit() -> None:
    h = _history(extra=0.5)
    with pytest.raises(PoseUnavailable, match="outside the position history"):
        h.pose_at(1.6)
    with pytest.raises(PoseUnavailable, match="outside"):
        h.pose_at(-0.6)


def test_refuses_to_interpolate_across_a_gap() -> None:
    h = _history(gap=1.0)
    h.add_position(5.0, 22.6, 114.0, 40.0, 45.0)
    h.add_attitude(5.0, 0.0, 0.0, 0.0)
    with pytest.raises(PoseUnavailable, match="gap"):
        h.pose_at(3.0)
    # extrapolation next to a lone sample after a gap holds the sample rather than guessing
    held = h.pose_at(5.2)
    assert held.extrapolated and held.alt_rel_m == pytest.approx(40.0)


def test_empty_history_and_out_of_order_samples() -> None:
    h = PoseHistory()
    with pytest.raises(PoseUnavailable, match="no position samples"):
        h.pose_at(0.0)
    assert h.add_position(1.0, 1.0, 1.0, 1.0, 1.0)
    assert not h.add_position(0.5, 9.0, 9.0, 9.0, 9.0)  # older than the newest: ignored
    assert len(h) == 1


def test_old_samples_are_dropped_beyond_the_span() -> None:
    h = PoseHistory(span_s=2.0)
    for i in range(1000):
        h.add_position(i / 10, 0.0, 0.0, 0.0, 0.0)
    span = h.span()
    assert span is not None
    assert span[1] == pytest.approx(99.9)
    assert 2.0 <= span[1] - span[0] <= 4.0
    assert len(h) <= 41
