"""``gcs mission`` against the real simulator: upload with read-back, start, RTL, resume.

The CLI runs as a subprocess, exactly as an operator types it; the simulator's ground truth
(``SimVehicle.snapshot``) judges what the vehicle really did.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contract import geo
from contract.mavlink import FencePolygon, fence_polygons
from ground_station.missions.files import read_mission
from ground_station.planning.mission import MissionItem
from ground_station.planning.mission_files import read_wpl, write_plan, write_wpl
from sim.vehicle import SimVehicle
from tests.conftest import free_port

ALT = 20.0


def patrol_file(path: Path, home_lat: float, home_lon: float, legs: int = 10, leg_m: float = 80.0) -> Path:
    """A small patrol as an operator's WPL: home, take-off, then ``legs`` waypoints north-east."""
    items = [MissionItem(0, 0, 16, x=home_lat, y=home_lon, z=5.0, current=1)]
    items.append(MissionItem(1, 3, 22, z=ALT))
    for k in range(1, legs + 1):
        lat, lon = geo.offset(home_lat, home_lon, north_m=leg_m * k, east_m=15.0 * (k % 2))
        items.append(MissionItem(len(items), 3, 16, x=lat, y=lon, z=ALT))
    write_wpl(path, items)
    return path


def zone_feature(name: str, lat: float, lon: float, half_m: float) -> dict:
    """A square no-fly zone as the district's GeoJSON gives one."""
    ring = [
        geo.offset(lat, lon, n, e)
        for n, e in ((-half_m, -half_m), (-half_m, half_m), (half_m, half_m), (half_m, -half_m))
    ]
    coords = [[lo, la] for la, lo in [*ring, ring[0]]]
    return {
        "type": "Feature",
        "properties": {"name": name},
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }


@pytest.mark.slow
def test_a_plan_s_geofence_goes_up_turned_on_and_a_patrol_that_leaves_it_comes_home(
    sim: SimVehicle, gcs, gcs_bg, tmp_path: Path
) -> None:
    url = f"tcp:127.0.0.1:{sim.tcp_port}"
    home = sim.snapshot()
    wpl = patrol_file(tmp_path / "patrol.waypoints", home.lat, home.lon, legs=3)
    fence = tuple(
        geo.offset(home.lat, home.lon, n, e) for n, e in ((-50, -50), (-50, 50), (130, 50), (130, -50))
    )
    plan = tmp_path / "patrol.plan"
    write_plan(plan, read_wpl(wpl), 8.0, 5.0, [FencePolygon(True, fence)])

    up = gcs("mission", "upload", str(plan), "--mavlink", url)
    assert up.returncode == 0, up.stderr
    assert (
        "geofence on: 1 polygon(s), 4 corners, read back identical; at most 120 m; a breach: SmartRTL, home"
        " along the path flown (RTL if it has none)" in up.stderr
    )
    assert sim.call(lambda c: [c.params[n] for n in ("FENCE_ENABLE", "FENCE_TYPE", "FENCE_ACTION")]) == [
        1,
        5,
        3,
    ]
    assert len(sim.call(lambda c: c.store.items(1))) == 4  # the vehicle's fence list

    sim.set_param("FENCE_ENABLE", 0)
    again = gcs("mission", "upload", str(plan), "--no-fence", "--mavlink", url)
    assert (
        again.returncode == 0
        and "geofence on" not in again.stderr
        and "no geofence" not in again.stderr
        and sim.call(lambda c: c.params["FENCE_ENABLE"]) == 0
    )
    plain = gcs("mission", "upload", str(wpl), "--mavlink", url)
    assert plain.returncode == 0 and f"no geofence in {wpl}: the vehicle's own fence settings" in plain.stderr

    drawn = gcs("mission", "upload", str(wpl), "--fence-margin", "40", "--mavlink", url)  # planned elsewhere
    assert (
        drawn.returncode == 0 and "geofence drawn 40 m around the mission's route from home" in drawn.stderr
    )
    (around,) = fence_polygons(sim.call(lambda c: c.store.items(1)))
    assert around.inclusion and all(
        geo.inside_polygon(it.lat, it.lon, around.points) for it in read_mission(wpl)[0] if it.lat
    )

    # the station's no-fly zones: a helipad across the leg from waypoint 1 to 2 (planned elsewhere,
    # by someone who did not know of it), a school beside the route
    zones = tmp_path / "zones.geojson"
    zones.write_text(json.dumps({"type": "FeatureCollection", "features": [
        zone_feature("helipad", *geo.offset(home.lat, home.lon, 120.0, 7.0), 10.0),
        zone_feature("school", *geo.offset(home.lat, home.lon, 80.0, 60.0), 15.0),
    ]}))  # fmt: skip
    station = {"RIVERPATROL_GCS_NO_FLY_ZONES": str(zones)}
    refused = gcs("mission", "upload", str(wpl), "--fence-margin", "40", "--mavlink", url, **station)
    assert refused.returncode == 5, refused.stderr
    said = " ".join(refused.stderr.split())
    assert "enters no-fly zone 'helipad' (the leg from item 2 to item 3). Nothing was uploaded" in said
    assert "school" not in said and fence_polygons(sim.call(lambda c: c.store.items(1))) == [around]
    leave = gcs(
        "mission", "upload", str(wpl), "--fence-margin", "40", "--ignore-no-fly", "--mavlink", url, **station
    )
    assert leave.returncode == 0, leave.stderr
    said = " ".join(leave.stderr.split())
    assert "the route enters no-fly zone 'helipad'" in said and "1 no-fly zone(s) near it kept out" in said
    inclusion, school = fence_polygons(
        sim.call(lambda c: c.store.items(1))
    )  # not the helipad, flown with leave
    assert inclusion.inclusion and not school.inclusion
    assert geo.inside_polygon(*geo.offset(home.lat, home.lon, 80.0, 60.0), school.points)

    # the patrol's second waypoint (160 m out) lies beyond the fence (130 m): it turns home there
    # along the zigzag it flew (SmartRTL), the operator watching is told, and the logbook keeps it
    assert gcs("mission", "upload", str(plan), "--mavlink", url).returncode == 0
    watcher = gcs_bg("mission", "watch", "--mavlink", url, "--vehicle", "river-1")
    assert watcher.stderr is not None and watcher.stderr.readline().startswith("following river-1")
    assert gcs("mission", "start", "--mavlink", url).returncode == 0
    turned = sim.wait_for(lambda s: s.mode_name == "SMART_RTL", timeout=30.0)
    assert 110 < geo.to_local(home.lat, home.lon, turned.lat, turned.lon)[0] < 160
    track: list[tuple[float, float]] = []

    def home_yet(s) -> bool:
        track.append(geo.to_local(home.lat, home.lon, s.lat, s.lon))
        return s.landed and not s.armed

    sim.wait_for(home_yet, timeout=60.0)
    # back through the first waypoint (80 m north, 15 m east), not the straight line home (~4 m east
    # there), and down where it took off
    assert max(e for n, e in track if 75 < n < 85) > 12
    assert math.dist(track[-1], (0, 0)) < 2
    _, err = watcher.communicate(timeout=15)
    assert watcher.returncode == 0 and "river-1 warns: Fence Breached: Polygon" in err, err
    assert "river-1 is now AUTO: flying the mission" in err
    assert "river-1 is now SMART_RTL: returning home along the path it flew" in err
    (flight,) = [json.loads(line) for line in gcs("logbook", "--json").stdout.splitlines()]
    assert [w["text"] for w in flight["properties"]["warnings"]] == ["Fence Breached: Polygon"]
    assert [m["mode"] for m in flight["properties"]["modes"]][-2:] == ["AUTO", "SMART_RTL"]
    book = gcs("logbook", COLUMNS="250").stdout
    assert "Fence Breached: Polygon" in book and "SMART_RTL" in book  # how it came home


@pytest.mark.slow
def test_upload_start_rtl_resume_from_last_reached(sim: SimVehicle, gcs, gcs_bg, tmp_path: Path) -> None:
    url = f"tcp:127.0.0.1:{sim.tcp_port}"
    home = sim.snapshot()
    # 30 legs: at 20x a leg is ~0.4 s of wall time, and the three commands sent while it flies its
    # mission (a refused upload, SmartRTL, RTL) take seconds on a loaded 2-core machine; 10 legs
    # ran out before the RTL there once
    plan = patrol_file(tmp_path / "patrol.waypoints", home.lat, home.lon, legs=30)
    sent, _ = read_mission(plan)

    up = gcs("mission", "upload", str(plan), "--mavlink", url)
    assert up.returncode == 0, up.stderr
    assert "read back identical" in up.stderr and f"item {len(sent) + 1} of {len(sent) + 1}" in up.stderr

    back_file = tmp_path / "back.plan"
    down = gcs("mission", "download", "--mavlink", url, "--out", str(back_file))
    assert down.returncode == 0, down.stderr
    back, back_home = read_mission(back_file)
    assert [(b.seq, b.command) for b in back] == [(s.seq, s.command) for s in sent]
    assert all(
        abs(b.lat - s.lat) < 2e-7 and abs(b.lon - s.lon) < 2e-7 for b, s in zip(back, sent, strict=True)
    )
    assert back_home is not None and abs(back_home[0] - home.lat) < 1e-6  # the vehicle's real home

    # named by the drone's id the station knows (drone_id), as the drone names its own record
    watcher = gcs_bg("mission", "watch", "--mavlink", url, RIVERPATROL_GCS_DRONE_ID="river-1")
    assert watcher.stderr is not None and watcher.stderr.readline().startswith("following river-1")
    wall_start = time.monotonic()
    started = gcs("mission", "start", "--mavlink", url)
    assert started.returncode == 0, started.stderr
    truth = sim.snapshot()
    assert truth.armed and truth.mode_name == "AUTO" and truth.alt_rel > ALT * 0.8

    sim.wait_for(lambda s: s.mission_seq >= 4, timeout=40.0)  # waypoint 3 reached, flying to 4
    # a fenced plan that would leave it outside, uploaded in flight: refused, nothing changes on board
    near = tuple(
        geo.offset(home.lat, home.lon, n, e) for n, e in ((-50, -50), (-50, 50), (130, 50), (130, -50))
    )
    fenced = tmp_path / "near.plan"
    write_plan(fenced, read_wpl(plan), 8.0, 5.0, [FencePolygon(True, near)])
    refused = gcs("mission", "upload", str(fenced), "--mavlink", url)
    assert refused.returncode == 5 and "is flying outside its polygon 1 of the new geofence" in refused.stderr
    assert "Nothing was uploaded" in refused.stderr and "--no-fence" in refused.stderr
    assert sim.call(lambda c: (c.params["FENCE_ENABLE"], len(c.store.items(1)))) == (0, 0)
    assert sim.snapshot().mode_name == "AUTO"
    smart = gcs("mission", "smartrtl", "--mavlink", url)  # home along the path flown ...
    assert smart.returncode == 0 and "along the path it flew" in smart.stderr, smart.stderr
    assert sim.snapshot().mode_name == "SMART_RTL"
    rtl = gcs("mission", "rtl", "--mavlink", url)  # ... or straight home
    assert rtl.returncode == 0, rtl.stderr
    at_rtl = sim.snapshot()
    assert at_rtl.mode_name == "RTL" and 4 <= at_rtl.mission_seq < len(sent)
    sim.wait_for(lambda s: s.landed and not s.armed, timeout=60.0)
    wall_s = time.monotonic() - wall_start
    _, err = watcher.communicate(timeout=15)  # it stops by itself once the vehicle disarms
    assert watcher.returncode == 0, err
    state = json.loads((tmp_path / "gcs" / "missions" / "river-1.json").read_text())
    last = at_rtl.mission_seq - 1  # it was flying to mission_seq: the one before was reached
    assert state["last_reached"] == last
    assert "flight logged in" in err
    book = gcs("logbook", "--json")
    assert book.returncode == 0, book.stderr
    (flight,) = [json.loads(line) for line in book.stdout.splitlines()]
    props = flight["properties"]  # the flight as the watcher saw it, against the simulator's truth
    assert props["vehicle"] == "river-1" and props["mission_count"] == len(sent)
    assert props["waypoints_reached"][:3] == [1, 2, 3] and last in props["waypoints_reached"]
    assert props["duration_s"] > 0 and props["distance_m"] > 3 * 80.0
    # timed by the vehicle's GPS clock (SYSTEM_TIME), as the drone times its own record: the
    # simulator flies 20x, so the flight lasted far longer than the station's clock saw go by
    assert props["duration_s"] > 5 * wall_s, (props["duration_s"], wall_s)
    assert props["battery_used_pct"] is not None and props["battery_used_pct"] > 0
    track = flight["geometry"]["coordinates"]
    far = max(geo.distance_m(home.lat, home.lon, lat, lon) for lon, lat in track)
    assert len(track) > 10 and far > 3 * 80.0
    table = gcs("logbook", COLUMNS="250")
    assert (
        "1 flight(s)" in table.stdout and "river-1" in table.stdout and "waiting" in table.stdout
    )  # no relay
    assert "station" in table.stdout  # logged by the station alone: no agent flew
    assert [m["mode"] for m in props["modes"]][-3:] == [
        "AUTO",
        "SMART_RTL",
        "RTL",
    ] and " RTL " in table.stdout

    resumed = gcs("mission", "resume", "--mavlink", url, "--vehicle", "river-1")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at item {last}" in resumed.stderr
    truth = sim.snapshot()
    assert truth.armed and truth.mode_name == "AUTO" and truth.mission_seq == last
    # it flies back to the last reached waypoint, then on along the route
    sim.wait_for(lambda s: s.mission_seq == last + 1, timeout=30.0)


@pytest.mark.slow
def test_resume_without_state_uses_the_vehicles_current_item(sim: SimVehicle, gcs, tmp_path: Path) -> None:
    url = f"tcp:127.0.0.1:{sim.tcp_port}"
    home = sim.snapshot()
    plan = patrol_file(tmp_path / "patrol.waypoints", home.lat, home.lon)
    assert gcs("mission", "upload", str(plan), "--mavlink", url).returncode == 0
    assert gcs("mission", "start", "--mavlink", url).returncode == 0
    sim.wait_for(lambda s: s.mission_seq >= 4, timeout=40.0)
    assert gcs("mission", "rtl", "--mavlink", url).returncode == 0
    seq = sim.snapshot().mission_seq
    resumed = gcs("mission", "resume", "--mavlink", url)
    assert resumed.returncode == 0, resumed.stderr
    # the vehicle was flying to `seq`: the last reached waypoint is the one before it
    assert f"resuming at item {seq - 1}" in resumed.stderr
    assert sim.snapshot().mode_name == "AUTO"


@pytest.mark.slow
def test_resume_after_battery_swap_uses_the_saved_waypoint(make_sim, gcs, gcs_bg, tmp_path: Path) -> None:
    """A swapped battery reboots the autopilot: its current item is gone, the state file is not."""
    first = make_sim()
    url = f"tcp:127.0.0.1:{first.tcp_port}"
    home = first.snapshot()
    plan = patrol_file(tmp_path / "patrol.waypoints", home.lat, home.lon)
    assert gcs("mission", "upload", str(plan), "--mavlink", url).returncode == 0
    started = gcs_bg("mission", "start", "--mavlink", url, "--follow", "--vehicle", "river-2")
    first.wait_for(lambda s: s.mission_seq >= 4, timeout=40.0)
    assert gcs("mission", "land", "--mavlink", url).returncode == 0
    at_land = first.snapshot()
    first.wait_for(lambda s: s.landed and not s.armed, timeout=60.0)
    _, err = started.communicate(timeout=15)
    assert started.returncode == 0, err
    first.stop()
    # followed from before its take-off: the logbook knows the battery it took off with
    (flight,) = [json.loads(line) for line in gcs("logbook", "--json").stdout.splitlines()]
    assert flight["properties"]["battery_used_pct"] > 0, flight["properties"]

    swapped = make_sim(tcp_port=0)  # a fresh autopilot (same home): MISSION_CURRENT starts over
    url = f"tcp:127.0.0.1:{swapped.tcp_port}"
    assert gcs("mission", "upload", str(plan), "--mavlink", url).returncode == 0
    # resumed by another name (its edge agent not heard yet: sysid-1): the progress river-2 flew
    # of this same mission is found by the mission's fingerprint, and kept under the new name
    resumed = gcs_bg("mission", "resume", "--mavlink", url, "--follow")  # followed from the ground
    last = at_land.mission_seq - 1
    truth = swapped.wait_for(lambda s: s.armed and s.mode_name == "AUTO", timeout=40.0)
    assert truth.mission_seq == last
    state = tmp_path / "gcs" / "missions" / "sysid-1.json"
    swapped.wait_for(lambda s: s.mission_seq > last, timeout=40.0)  # the follower saves the change
    time.sleep(1.0)
    kept = json.loads(state.read_text())  # the follower carried on what resume took up
    assert kept["vehicle"] == "sysid-1" and kept["last_reached"] >= last, kept
    assert gcs("mission", "land", "--mavlink", url).returncode == 0
    swapped.wait_for(lambda s: s.landed and not s.armed, timeout=60.0)
    _, err = resumed.communicate(timeout=15)
    assert resumed.returncode == 0, err
    assert "note: naming the vehicle sysid-1" in err
    assert f"resuming at item {last}: last reached waypoint {last}" in err
    assert "river-2.json: this mission's progress as river-2 flew it" in err


def vehicle_utc(sim: SimVehicle) -> datetime:
    """The simulated vehicle's UTC (SYSTEM_TIME's), which runs at the simulator's speed."""
    return datetime.fromtimestamp(sim.snapshot().unix_time, UTC)


@pytest.mark.slow
def test_goto_a_find_for_a_closer_look_then_resume_the_patrol(sim: SimVehicle, gcs, tmp_path: Path) -> None:
    """An inspector asks for a better look at a find: the operator sends the patrolling drone
    there by the alert's id, lower, to where its drift has carried it since it was seen; it holds
    over it until the patrol is resumed. A point outside the fence is refused before anything is sent."""
    from contract.drift import where_now
    from contract.messages import Drift
    from ground_station.relay.outbox import RelayOutbox
    from tests.gcs_relay.conftest import make_alert

    url = f"tcp:127.0.0.1:{sim.tcp_port}"
    home = sim.snapshot()
    wpl = patrol_file(tmp_path / "patrol.waypoints", home.lat, home.lon)
    river = tuple(
        geo.offset(home.lat, home.lon, n, e) for n, e in ((-60, -60), (-60, 80), (900, 80), (900, -60))
    )
    plan = tmp_path / "patrol.plan"
    write_plan(plan, read_wpl(wpl), 8.0, 5.0, [FencePolygon(True, river)])
    assert gcs("mission", "upload", str(plan), "--mavlink", url).returncode == 0
    lat, lon = geo.offset(home.lat, home.lon, 300, 50)
    seen_at = vehicle_utc(sim) - timedelta(minutes=2)  # the drone's clock: the simulator runs fast
    find = make_alert(1)
    find = find.model_copy(
        update={
            "lat": lat,
            "lon": lon,
            "track": find.track.model_copy(update={"last_seen": seen_at}),
            "drift": Drift(east_mps=0.0, north_mps=0.25, sigma_mps=0.02, over_s=15.0),  # up the river
        }
    )
    box = RelayOutbox(tmp_path / "gcs" / "relay.db")  # what the station's relay received
    assert box.put(json.loads(find.model_dump_json()), find.model_dump_json())
    box.close()
    assert gcs("mission", "start", "--mavlink", url).returncode == 0
    sim.wait_for(lambda s: s.mission_seq >= 3, timeout=40.0)

    over_the_city = "{:.6f},{:.6f}".format(*geo.offset(home.lat, home.lon, 300, 200))
    refused = gcs("mission", "goto", over_the_city, "--mavlink", url)
    assert refused.returncode == 5, refused.stderr
    said = " ".join(refused.stderr.split())
    assert "it is outside the vehicle's geofence: the fence would turn it back. Nothing was sent" in said
    assert sim.snapshot().mode_name == "AUTO"

    short = str(find.alert_id)[:8]
    as_seen = gcs("mission", "goto", short, "--as-seen", "--no-wait", "--mavlink", url)
    assert as_seen.returncode == 0, as_seen.stderr
    said = " ".join(as_seen.stderr.split())
    drifts = f"{short} bottle drifts 0.25 m/s toward 0° (N), seen on 1 pass over 15 s"
    assert f"{drifts}: flying to where it was seen at " in said
    assert f"flying to where the bottle of alert {short} was seen ({find.lat:.6f},{find.lon:.6f})" in said

    asked_at = vehicle_utc(sim)  # goto reads the vehicle's clock a moment later: the find drifts 0.25 m/s
    went = gcs("mission", "goto", short, "--alt", "12", "--mavlink", url, timeout=120)
    assert went.returncode == 0, went.stderr
    said = " ".join(went.stderr.split())
    assert f"{drifts}: flying to where it is likely now, " in said
    assert f"holding over where the bottle of alert {short} likely is now at 12 m (GUIDED)" in said
    # the simulator runs 20x: the find drifts metres while goto starts, so take the distance it said
    flown = re.search(r"likely now, ([\d,]+) m on from where seen", said)
    assert flown is not None, said
    moved = float(flown.group(1).replace(",", ""))
    earliest = where_now(find.lat, find.lon, find.drift, seen_at, asked_at).moved_m
    latest = where_now(find.lat, find.lon, find.drift, seen_at, vehicle_utc(sim)).moved_m
    assert earliest - 1 <= moved <= latest + 1 and moved > 30.0  # out of a 12 m view of where it was seen
    assert find.drift is not None
    now = where_now(find.lat, find.lon, find.drift, seen_at, seen_at + timedelta(seconds=moved / 0.25))
    truth = sim.snapshot()
    assert truth.mode_name == "GUIDED" and abs(truth.alt_rel - 12.0) < 2.5
    assert geo.distance_m(truth.lat, truth.lon, now.lat, now.lon) < 4.0
    time.sleep(1.0)  # it holds there
    held = sim.snapshot()
    assert held.mode_name == "GUIDED" and geo.distance_m(held.lat, held.lon, now.lat, now.lon) < 4.0

    resumed = gcs("mission", "resume", "--mavlink", url)
    assert resumed.returncode == 0, resumed.stderr
    assert sim.snapshot().mode_name == "AUTO"
    assert gcs("mission", "land", "--mavlink", url).returncode == 0


def test_no_heartbeat_names_the_url(gcs) -> None:
    url = f"udpin:127.0.0.1:{free_port()}"
    r = gcs("mission", "start", "--mavlink", url, RIVERPATROL_GCS_HEARTBEAT_TIMEOUT_S="1")
    assert r.returncode == 4
    assert "no heartbeat" in r.stderr and url in r.stderr


def test_refused_arming_reports_the_prearm_reason(make_sim, gcs, tmp_path: Path) -> None:
    slow = make_sim(ekf_ready_s=3600.0)  # no position estimate for an hour
    url = f"tcp:127.0.0.1:{slow.tcp_port}"
    home = slow.snapshot()
    plan = patrol_file(tmp_path / "p.waypoints", home.lat, home.lon, legs=2)
    assert gcs("mission", "upload", str(plan), "--mavlink", url).returncode == 0
    r = gcs("mission", "start", "--mavlink", url, RIVERPATROL_GCS_ARMABLE_TIMEOUT_S="1")
    assert r.returncode == 5, r.stderr
    assert "PreArm" in r.stderr and url in r.stderr
    assert not slow.snapshot().armed
    # with no path flown there is no SmartRTL: refused, saying why and what to do instead
    r = gcs("mission", "smartrtl", "--mavlink", url)
    assert r.returncode == 5 and "Mode change to SMART_RTL failed" in r.stderr and "mission rtl" in r.stderr


def test_bad_mission_file_names_file_and_line(gcs, tmp_path: Path) -> None:
    bad = tmp_path / "bad.waypoints"
    bad.write_text("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t22.5\t114.0\t5\t1\n1\t0\t3\tsixteen\n")
    r = gcs("mission", "upload", str(bad), "--mavlink", "tcp:127.0.0.1:1")
    assert r.returncode == 3
    assert "bad.waypoints:3" in r.stderr
