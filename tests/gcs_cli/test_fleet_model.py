"""The pure fleet model: link states from injected times, the last will, bad payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from contract import topics
from contract.messages import DroneStatus, Telemetry
from ground_station.fleet.model import FleetState, Link, mission_pct
from ground_station.fleet.render import COMPACT, RelayView, Snapshot, as_json, table

T0 = 1_800_000_000.0


def tele(drone: str = "d1", **kw) -> Telemetry:
    base = dict(
        drone_id=drone, time=datetime.fromtimestamp(T0, UTC), lat=22.5, lon=114.0, alt_rel_m=30.0,
        heading_deg=0.0, groundspeed_mps=8.0, battery_pct=80.0, gps_fix=3, satellites=12, mode="AUTO",
        armed=True, mission_item=3, mission_count=11,
    )  # fmt: skip
    return Telemetry(**{**base, **kw})


def status(drone: str = "d1", online: bool = True, when: float | None = None) -> DroneStatus:
    t = None if when is None else datetime.fromtimestamp(when, UTC)
    return DroneStatus(drone_id=drone, online=online, time=t, reason=None if online else "lost")


def test_online_then_stale_after_the_keepalive_window() -> None:
    f = FleetState(stale_after_s=5.0)
    f.on_telemetry(tele(), T0)
    assert f.link("d1", T0 + 4.9) == (Link.ONLINE, pytest.approx(4.9))
    assert f.link("d1", T0 + 5.1)[0] is Link.STALE
    f.on_telemetry(tele(), T0 + 6)
    assert f.link("d1", T0 + 6.5)[0] is Link.ONLINE


def test_last_will_marks_offline_at_once_and_keeps_last_state() -> None:
    f = FleetState(stale_after_s=5.0)
    f.on_telemetry(tele(mode="RTL"), T0)
    f.on_status(status(online=False), T0 + 0.5)
    link, age = f.link("d1", T0 + 0.5)
    assert link is Link.OFFLINE and age == pytest.approx(0.5)  # heard last by telemetry, not by the will
    row = f.rows(T0 + 0.5)[0]
    assert row.mode == "RTL" and row.reason == "lost"


def test_telemetry_after_the_will_brings_the_drone_back() -> None:
    f = FleetState(stale_after_s=5.0)
    f.on_status(status(online=False), T0)
    assert f.link("d1", T0)[0] is Link.OFFLINE
    f.on_telemetry(tele(), T0 + 1)
    assert f.link("d1", T0 + 1)[0] is Link.ONLINE


def test_retained_status_uses_its_own_time() -> None:
    f = FleetState(stale_after_s=5.0)
    f.on_status(status(when=T0 - 60), T0, retained=True)  # online=True said a minute ago
    assert f.link("d1", T0) == (Link.STALE, pytest.approx(60.0))
    g = FleetState(stale_after_s=5.0)
    g.on_status(status(when=None), T0, retained=True)
    assert g.link("d1", T0) == (Link.UNKNOWN, None)


def test_payloads_from_topics_and_rejections_counted() -> None:
    f = FleetState(stale_after_s=5.0)
    assert f.on_payload(topics.drone_topic("d1", topics.TELEMETRY), tele().model_dump_json().encode(), T0)
    assert not f.on_payload(topics.drone_topic("d1", topics.TELEMETRY), b"{", T0)
    assert not f.on_payload("other/d1/telemetry", b"{}", T0)
    assert not f.on_payload(
        topics.drone_topic("d2", topics.TELEMETRY), tele("d1").model_dump_json().encode(), T0
    )
    assert sum(f.rejected.values()) == 3 and "d2" in (f.last_error or "")
    garbled = {**json.loads(tele().model_dump_json()), "battery_pct": "full"}
    assert not f.on_payload(topics.drone_topic("d1", topics.TELEMETRY), json.dumps(garbled).encode(), T0)
    assert "battery_pct: Input should be a valid number" in (f.last_error or "")  # the field is named
    assert f.on_payload(topics.drone_topic("d1", topics.ALERTS), b"ignored", T0)
    assert [r.drone_id for r in f.rows(T0)] == ["d1"]
    assert f.on_payload(topics.drone_topic("d1", topics.STATUS), b"", T0, retained=True)  # retained cleared
    assert f.rows(T0) == []


@pytest.mark.parametrize(
    ("item", "count", "pct"), [(1, 10, 0.0), (6, 10, 50.0), (11, 10, 100.0), (None, 10, None), (3, 0, None)]
)
def test_mission_pct(item: int | None, count: int, pct: float | None) -> None:
    assert mission_pct(item, count) == pct


def test_render_table_and_json() -> None:
    from rich.console import Console

    f = FleetState(stale_after_s=5.0)
    f.on_telemetry(tele("d1", camera="ok", detect_fps=3.46, wind_mps=7.8, wind_from_deg=225.0), T0)
    f.on_status(status("d2", online=False), T0)
    f.on_telemetry(tele("d3", camera="no frame for 12 s", detect_fps=0.0), T0)
    f.on_telemetry(tele("d4", warning="Fence Breached: Polygon"), T0)  # and does not report its camera
    snap = Snapshot(f.rows(T0 + 1), RelayView(3, 12.0, 0, 40, refused=2), "127.0.0.1:1883", True, 0, None)
    doc = as_json(snap)
    assert [d["link"] for d in doc["drones"]] == ["online", "offline", "online", "online"]
    assert doc["relay"]["backlog"] == 3
    assert [d["camera"] for d in doc["drones"]] == ["ok", None, "no frame for 12 s", None]
    console = Console(width=240, record=True)
    console.print(table(snap))
    text = console.export_text()
    assert "item 3 of 11 (18%)" in text and "offline (lost)" in text and "backlog 3" in text
    assert "refused 2 (`gcs alerts --rejected` says why)" in text
    assert "ok 3.5 fps" in text and "no frame for 12 s" in text and "8@225°" in text
    assert "d4 warns: Fence Breached: Polygon" in text and text.count(" warns: ") == 1
    assert [d["warning"] for d in doc["drones"]] == [None, None, None, "Fence Breached: Polygon"]
    narrow = Console(width=80, record=True)  # a field laptop's terminal: fewer columns, none cut
    narrow.print(table(snap, narrow.width))
    text = narrow.export_text()
    header = next(line for line in text.splitlines() if "drone" in line and "outbox" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")] == list(COMPACT)
    assert "…" not in text and "3/11" in text and max(len(line) for line in text.splitlines()) <= 80


def test_two_vehicles_under_one_drone_id_are_said_and_refused() -> None:
    """Two drones' agents set up alike (a copied memory card) both report as d1: their boards
    alternate under the one id. The dashboard says so, the payload check refuses to judge d1, and
    the station does not name a vehicle d1; once one of them is gone a window later, it is over."""
    from rich.console import Console

    from ground_station.missions.preflight import agent_here, choose_agent, payload_problems, vehicle_agents

    f = FleetState(stale_after_s=5.0)
    f.on_telemetry(tele(board_id="aa01", camera="ok"), T0)
    assert f.rows(T0)[0].id_shared_by == ()  # one board: one vehicle
    f.on_telemetry(tele(board_id="bb02", camera="ok"), T0 + 0.5)
    f.on_telemetry(tele(board_id="aa01", camera="ok"), T0 + 1.0)
    row = f.rows(T0 + 1.2)[0]
    assert row.id_shared_by == ("aa01", "bb02") and as_json(Snapshot([row], RelayView(), "b", True, 0, None))[
        "drones"
    ][0]["id_shared_by"] == ("aa01", "bb02")
    says = "d1 is 2 drones (boards aa01, bb02 each report as it): give each drone's agent its own drone_id"
    assert payload_problems(row) == [says]
    assert vehicle_agents([row], None, "bb02") == [row]  # it does ride this vehicle too...
    assert agent_here([row], None, "bb02") is None  # ...but its name is not this vehicle's alone
    assert choose_agent([row], "d1", None, "bb02") is row  # named: judged, and refused for the twin
    console = Console(width=240, record=True)
    console.print(table(Snapshot([row], RelayView(), "127.0.0.1:1883", True, 0, None)))
    assert says in console.export_text().replace("\n", " ")
    for t in (T0 + 2.0, T0 + 4.0, T0 + 6.0):  # bb02's agent was given its own id: only aa01 as d1
        f.on_telemetry(tele(board_id="aa01", camera="ok"), t)
    assert f.rows(T0 + 6.1)[0].id_shared_by == () and payload_problems(f.rows(T0 + 6.1)[0]) == []


def test_a_drone_newer_than_the_station_is_shown_and_said() -> None:
    """A drone upgraded before its station sends telemetry fields the station does not know: it is
    shown as it is (a payload check can judge it) without them, and the dashboard says to upgrade
    the station; a field the station knows, garbled, is still refused."""
    from rich.console import Console

    f = FleetState(stale_after_s=5.0)
    newer = {**json.loads(tele(camera="ok").model_dump_json()), "sun_glare": 0.4, "rain_mm": 6.0}
    assert f.on_payload(topics.drone_topic("d1", topics.TELEMETRY), json.dumps(newer).encode(), T0)
    (row,) = f.rows(T0)
    assert row.link is Link.ONLINE and row.camera == "ok" and row.newer_fields == ("sun_glare", "rain_mm")
    assert sum(f.rejected.values()) == 0
    console = Console(width=240, record=True)
    console.print(table(Snapshot([row], RelayView(), "127.0.0.1:1883", True, 0, None)))
    says = "d1 runs a newer RiverPatrol than this station (it sends sun_glare, rain_mm): upgrade the"
    assert says in console.export_text()
    assert f.on_payload(topics.drone_topic("d1", topics.TELEMETRY), tele().model_dump_json().encode(), T0 + 1)
    assert f.rows(T0 + 1)[0].newer_fields == ()  # upgraded back in step: not said any more
    status_newer = {**json.loads(status("d1", online=False).model_dump_json()), "uptime_s": 5}
    assert f.on_payload(topics.drone_topic("d1", topics.STATUS), json.dumps(status_newer).encode(), T0 + 1.5)
    assert f.link("d1", T0 + 1.5)[0] is Link.OFFLINE  # its last will reads the same from a newer drone
    newer["gps_fix"] = "3D"
    assert not f.on_payload(topics.drone_topic("d1", topics.TELEMETRY), json.dumps(newer).encode(), T0 + 2)


def test_a_drone_flying_in_more_wind_than_its_upwind_legs_can_take_is_said() -> None:
    """At 8 m/s over the ground a vehicle that flies 16 m/s through the air holds its plan into
    8 m/s of wind, not 9: the dashboard says so in red; without limits it judges nothing."""
    from rich.console import Console

    f = FleetState(stale_after_s=5.0)
    f.on_telemetry(tele("d1", wind_mps=9.0, wind_from_deg=45.0), T0)
    f.on_telemetry(tele("d2", wind_mps=8.0, wind_from_deg=45.0), T0)
    f.on_telemetry(tele("d3"), T0)  # an agent that does not say the wind
    texts = []
    for limit in ((8.0, 16.0), None):
        console = Console(width=240, record=True)
        console.print(table(Snapshot(f.rows(T0), RelayView(), "127.0.0.1:1883", True, 0, None, "", limit)))
        texts.append(" ".join(console.export_text().split()))
    says = "d1 flies in 9 m/s of wind: at 8 m/s over the ground its upwind legs need 17 m/s through the air"
    assert says in texts[0] and texts[0].count("m/s of wind") == 1  # d2 holds; d3 says nothing
    assert "m/s of wind" not in texts[1]
