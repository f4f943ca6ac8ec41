"""Pure mission parts: file conversion, read-back diff, resume point and its state file."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from ground_station.mavlink.mission import MissionItem, waypoint
from ground_station.missions.compare import diff_missions
from ground_station.missions.files import read_mission, to_file, to_vehicle, write_mission
from ground_station.missions.resume import (
    PatrolProgress,
    ResumeError,
    fingerprint,
    load_progress,
    newest,
    progress_kept_elsewhere,
    resume_item,
    save_progress,
    state_path,
)
from ground_station.planning.mission_files import MissionFileError

TAKEOFF, RTL = 22, 20


def mission() -> list[MissionItem]:
    items = [MissionItem(1, TAKEOFF, alt=20.0)]
    items += [waypoint(k, 22.52 + k * 1e-4, 114.06, 25.0) for k in range(2, 7)]
    items.append(MissionItem(7, RTL, frame=2))
    return items


def wire_roundtrip(it: MissionItem) -> MissionItem:
    """What a vehicle gives back: lat/lon as 1e-7 integers, params and alt as float32."""
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    return replace(
        it,
        lat=round(it.lat * 1e7) / 1e7 if it.frame != 2 else f32(it.lat),
        lon=round(it.lon * 1e7) / 1e7 if it.frame != 2 else f32(it.lon),
        alt=f32(it.alt),
        param1=f32(it.param1),
        param2=f32(it.param2),
    )


def test_diff_accepts_wire_quantisation_and_names_real_differences() -> None:
    sent = [replace(it, lat=it.lat + 3.3e-8, param2=0.3) for it in mission()]
    assert diff_missions(sent, [wire_roundtrip(it) for it in sent]) == []
    back = [wire_roundtrip(it) for it in sent]
    back[3] = replace(back[3], alt=30.0)
    back[4] = replace(back[4], lat=back[4].lat + 1e-6)
    diff = diff_missions(sent, back[:-1])
    assert "item count: sent 7, vehicle holds 6" in diff
    assert any(d.startswith("item 4 alt: sent 25.0") for d in diff)
    assert any(d.startswith("item 5 lat") for d in diff)


def test_nan_params_compare_equal_only_to_nan() -> None:
    a = [replace(mission()[1], param4=math.nan)]
    assert diff_missions(a, a) == []
    assert diff_missions(a, [replace(a[0], param4=0.0)]) != []


@pytest.mark.parametrize("suffix", [".waypoints", ".plan"])
def test_file_roundtrip_keeps_items_and_home(tmp_path: Path, suffix: str) -> None:
    home = MissionItem(0, 16, frame=0, lat=22.52, lon=114.06, alt=5.0)
    path = tmp_path / f"m{suffix}"
    write_mission(path, [home, *mission()], cruise_speed=8.0, hover_speed=5.0)
    items, got_home = read_mission(path)
    assert diff_missions(mission(), items) == []
    assert got_home == (22.52, 114.06, 5.0)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(MissionFileError, match=r"m\.kml.*unknown mission file type"):
        read_mission(tmp_path / "m.kml")
    only_home = to_file([MissionItem(0, 16, frame=0, lat=1.0, lon=2.0)])
    with pytest.raises(MissionFileError, match="only a home"):
        to_vehicle(only_home, "x.plan")
    bad = to_file([MissionItem(0, 16, frame=0), replace(mission()[1], lat=math.nan)])
    with pytest.raises(MissionFileError, match=r"x\.plan: item 2 x/lat"):
        to_vehicle(bad, "x.plan")


def test_resume_at_last_reached_waypoint() -> None:
    m = mission()
    assert resume_item(m, last_reached=4, current=None) == 4
    assert resume_item(m, last_reached=1, current=None) == 2  # take-off reached: first route waypoint
    assert resume_item(m, last_reached=None, current=5) == 4  # flying to 5: 4 was reached
    assert resume_item(m, last_reached=None, current=2) == 2  # nothing reached before the first waypoint
    assert resume_item(m, last_reached=4, current=6) == 4  # what was reached wins over the vehicle's
    with pytest.raises(ResumeError, match="complete"):
        resume_item(m, last_reached=7, current=None)
    with pytest.raises(ResumeError, match="no reached waypoint"):
        resume_item(m, None, None)
    with pytest.raises(ResumeError, match="no mission"):
        resume_item([], 3, None)


def test_state_file_roundtrip_and_corruption(tmp_path: Path) -> None:
    path = state_path(tmp_path, "river 1/a")
    assert path.parent == tmp_path / "missions" and "/" not in path.name
    assert load_progress(path) is None
    p = PatrolProgress("river-1", fingerprint(mission()), 7).reached(3, datetime(2026, 1, 1, tzinfo=UTC))
    save_progress(path, p.flying_to(4, datetime(2026, 1, 1, tzinfo=UTC)))
    back = load_progress(path)
    assert back is not None and (back.last_reached, back.current) == (3, 4)
    path.write_text("{not json")
    with pytest.raises(ResumeError, match=str(path)):
        load_progress(path)


def test_a_mission_s_progress_kept_under_another_name_is_found(tmp_path: Path) -> None:
    fp, other_fp = fingerprint(mission()), fingerprint(mission()[:3])
    at = lambda h: datetime(2026, 1, 1, h, tzinfo=UTC)  # noqa: E731
    here = state_path(tmp_path, "sysid-1")
    assert progress_kept_elsewhere(here, fp) is None  # nothing kept at all
    old = PatrolProgress("river-1", fp, 7).reached(2, at(8))
    new = PatrolProgress("river-2", fp, 7).reached(5, at(9))  # the later flight of this mission
    for name, p in (("river-1", old), ("river-2", new), ("river-3", PatrolProgress("river-3", other_fp, 3))):
        save_progress(state_path(tmp_path, name), p)
    save_progress(state_path(tmp_path, "river-4"), PatrolProgress("river-4", fp, 7))  # none reached
    state_path(tmp_path, "torn").write_text("{not json")  # skipped, not fatal
    assert progress_kept_elsewhere(here, fp) == (state_path(tmp_path, "river-2"), new)
    by_river_2 = progress_kept_elsewhere(state_path(tmp_path, "river-2"), fp)
    assert by_river_2 == (state_path(tmp_path, "river-1"), old)  # not its own file
    assert progress_kept_elsewhere(here, fingerprint(mission()[:2])) is None  # another mission


def test_fingerprint_follows_the_route() -> None:
    m = mission()
    assert fingerprint(m) == fingerprint(list(m))
    moved = [*m[:3], replace(m[3], lat=m[3].lat + 1e-5), *m[4:]]
    assert fingerprint(moved) != fingerprint(m)


def test_a_follower_carries_on_the_newer_progress_a_resume_saved() -> None:
    """A follower began before ``resume`` took the patrol up and saved it: at its next change it
    goes on from the saved record (renamed its own), not from its older view of the mission."""
    mine = PatrolProgress("sysid-1", "fp-a", 12)  # fresh: began before the resume
    saved = PatrolProgress(
        "river-2", "fp-a", 12, last_reached=7, current=7, updated="2026-12-07T10:00:01+00:00"
    )
    assert newest(mine, saved) == PatrolProgress("sysid-1", "fp-a", 12, 7, 7, "2026-12-07T10:00:01+00:00")
    later = mine.reached(9, datetime(2026, 12, 7, 10, 0, 5, tzinfo=UTC))
    assert newest(later, saved) is later  # ours is newer: it stands
    assert (
        newest(mine, PatrolProgress("x", "fp-b", 5, 3, 3, "2026-12-07T10:00:09+00:00")) is mine
    )  # another mission
    assert newest(mine, None) is mine
