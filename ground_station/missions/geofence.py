"""Put a plan's geofence on the vehicle and turn it on, checked as the mission is.

The polygons go up as the fence list (mission_type FENCE), are read back and compared corner by
corner, and only then are the fence parameters set: ``FENCE_TYPE`` the altitude and polygon
fences (not ArduPilot's default circle around home: a patrol runs kilometres from it),
``FENCE_ALT_MAX`` the ground station's ceiling, ``FENCE_ACTION`` what a breach does, and
``FENCE_ENABLE`` last. The autopilot then refuses to arm outside the fence and turns back from
a breach, whatever the link does: by default along the path it flew (SmartRTL), which stayed
inside the fence, not the straight line home across whatever the fence keeps it out of.
"""

from __future__ import annotations

from collections.abc import Sequence

from contract.mavlink import FencePolygon, fence_polygons, polygon_breached
from ground_station.mavlink import MissionItem, VehicleClient
from ground_station.mavlink.mission import GLOBAL_FRAMES, MAV_MISSION_TYPE_FENCE, fence_items
from ground_station.missions.flight import MissionMismatch
from ground_station.planning.fence import corridor
from ground_station.planning.geometry import Projection
from ground_station.planning.nofly import first_entry
from ground_station.planning.planner import NoFlyZone

#: ArduPilot FENCE_TYPE bits: 1 maximum altitude, 4 polygons (2, the circle, left off).
FENCE_TYPE_ALT_AND_POLYGON = 1 | 4
#: ``[gcs] fence_action`` -> ArduCopter FENCE_ACTION (3: SmartRTL, or RTL if it has no path).
FENCE_ACTIONS = {"report": 0, "rtl": 1, "land": 2, "smartrtl": 3}
#: What each does, as the operator is told.
FENCE_ACTION_SAYS = {
    "report": "report only",
    "rtl": "RTL, straight home",
    "land": "land where it is",
    "smartrtl": "SmartRTL, home along the path flown (RTL if it has none)",
}
#: Corners read back may differ by the wire's 1e-7 degree rounding (~1 cm).
_TOLERANCE_DEG = 2e-7

Polygons = Sequence[FencePolygon]


def fence_differences(sent: Polygons, back: Polygons) -> list[str]:
    """What differs between the fence sent and the one read back (empty: identical)."""
    if len(sent) != len(back):
        return [f"{len(sent)} polygon(s) sent, {len(back)} read back"]
    out = []
    for k, ((inc_a, a), (inc_b, b)) in enumerate(zip(sent, back, strict=True), start=1):
        if inc_a != inc_b:
            out.append(f"polygon {k}: {'inclusion' if inc_a else 'exclusion'} sent, the other read back")
        if len(a) != len(b):
            out.append(f"polygon {k}: {len(a)} corners sent, {len(b)} read back")
            continue
        for i, (p, q) in enumerate(zip(a, b, strict=True), start=1):
            if abs(p[0] - q[0]) > _TOLERANCE_DEG or abs(p[1] - q[1]) > _TOLERANCE_DEG:
                out.append(
                    f"polygon {k} corner {i}: {p[0]:.7f},{p[1]:.7f} sent, {q[0]:.7f},{q[1]:.7f} read back"
                )
    return out


def breach_of(polygons: Polygons, lat: float, lon: float) -> str | None:
    """How (lat, lon) breaches ``polygons`` as the autopilot judges them (inside every
    inclusion polygon, outside every exclusion one), in words; ``None`` when it does not."""
    k = polygon_breached(polygons, lat, lon)
    if k is None:
        return None
    return (
        f"outside its polygon {k + 1}"
        if polygons[k].inclusion
        else f"inside its exclusion polygon {k + 1} (a no-fly zone)"
    )


def _positioned(items: Sequence[MissionItem]) -> list[MissionItem]:
    """The items that fly to a place (a take-off or a land at 0, 0 stays where it is)."""
    return [it for it in items if it.frame in GLOBAL_FRAMES and (it.lat, it.lon) != (0, 0)]


def fence_around(items: Sequence[MissionItem], home: tuple[float, float], margin_m: float) -> FencePolygon:
    """An inclusion polygon ``margin_m`` around a mission flown from ``home`` and back (its
    positioned items in order): a fence for a mission planned elsewhere. ``FenceError`` when no
    fence of few enough corners holds it."""
    proj = Projection(*home)
    route = [(0.0, 0.0), *(proj.to_xy(it.lat, it.lon) for it in _positioned(items)), (0.0, 0.0)]
    return FencePolygon(True, tuple(proj.to_latlon(*p) for p in corridor(route, margin_m)))


def zones_crossed(
    items: Sequence[MissionItem], home: tuple[float, float], zones: Sequence[NoFlyZone]
) -> list[tuple[NoFlyZone, str]]:
    """Each no-fly zone a mission flown from ``home`` and back enters, with the leg in words (a
    mission planned elsewhere, by someone who did not know of them); empty when it enters none."""
    stops = _positioned(items)
    route = [home, *((it.lat, it.lon) for it in stops), home]
    out = []
    for z in zones:
        k = first_entry(route, z)
        if k is None:
            continue
        if k == 0:
            leg = "the leg from home"
        elif k == len(route) - 2:
            leg = f"the leg home from item {stops[-1].seq}"
        else:
            leg = f"the leg from item {stops[k - 1].seq} to item {stops[k].seq}"
        out.append((z, leg))
    return out


def upload_fence(client: VehicleClient, polygons: Polygons, alt_max_m: float, action: str) -> None:
    """Upload, read back and compare ``polygons`` (``MissionMismatch``), then enable the fence."""
    if action not in FENCE_ACTIONS:
        raise ValueError(f"fence action {action!r} must be one of {', '.join(FENCE_ACTIONS)}")
    client.upload_mission(fence_items(list(polygons)), mission_type=MAV_MISSION_TYPE_FENCE)
    back = fence_polygons(client.download_mission(mission_type=MAV_MISSION_TYPE_FENCE))
    differences = fence_differences(polygons, back)
    if differences:
        raise MissionMismatch(differences)
    client.set_param("FENCE_TYPE", FENCE_TYPE_ALT_AND_POLYGON)
    client.set_param("FENCE_ALT_MAX", alt_max_m)
    client.set_param("FENCE_ACTION", FENCE_ACTIONS[action])
    client.set_param("FENCE_ENABLE", 1)


def fence_in_force(client: VehicleClient) -> tuple[Polygons, float | None]:
    """The fence the vehicle enforces now: its polygons (none while ``FENCE_ENABLE`` is off or
    ``FENCE_TYPE`` leaves polygons out) and its altitude ceiling, m (``FENCE_ALT_MAX``; ``None``
    where off)."""
    if not client.get_param("FENCE_ENABLE"):
        return [], None
    kind = int(client.get_param("FENCE_TYPE") or 0)
    polygons = (
        fence_polygons(client.download_mission(mission_type=MAV_MISSION_TYPE_FENCE)) if kind & 4 else []
    )
    ceiling = client.get_param("FENCE_ALT_MAX") if kind & 1 else None
    return polygons, ceiling
