"""Patrol planning along a river: parallel passes that cover its width, flown boustrophedon.

Pure functions of a river reach (centerline + width), the flight parameters and the camera's
cross-track footprint. The shape of a plan:

* the camera footprint ``F = 2 * alt * tan(hfov / 2)`` (the nadir image's width on the water);
* passes are curves at fixed offsets from the centerline (level sets of the distance to it),
  as many as needed to cover the river's width with the requested side overlap; a river
  narrower than the footprint gets one pass down the middle;
* passes alternate direction (boustrophedon); the river end and side to start from are the
  ones that make the home legs shortest;
* each pass is simplified (Douglas-Peucker): straight runs keep few waypoints, bends many,
  and no leg is longer than ``max_spacing_m``.

Lateral errors of the flown path (sampling and simplification) are bounded by
``PlanOptions.margin_m``; the passes are laid out with a footprint narrowed by that margin on
each side, so the real footprint still covers the river with the requested overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from itertools import pairwise

from contract.camera import CameraModel
from contract.geo import bearing_deg, distance_m
from contract.mavlink import FencePolygon
from ground_station.planning import geometry as g
from ground_station.planning.detour import Detour, NoWayAround, avoid
from ground_station.planning.energy import EnergyModel, FlightEstimate, Leg, Wind, estimate
from ground_station.planning.fence import FenceError, corridor

LatLon = tuple[float, float]


class PlanError(ValueError):
    """A plan that cannot be made from these inputs; the message says which and why."""


@dataclass(frozen=True)
class RiverReach:
    """What to patrol: a centerline (``(lat, lon)`` points, downstream order) and a width."""

    name: str
    centerline: tuple[LatLon, ...]
    width_m: float

    def __post_init__(self) -> None:
        if len(self.centerline) < 2:
            raise PlanError(f"river {self.name!r}: a centerline needs at least 2 points")
        if not self.width_m > 0:
            raise PlanError(f"river {self.name!r}: width must be > 0 m, got {self.width_m}")


@dataclass(frozen=True)
class PlanOptions:
    """Flight parameters of one plan."""

    alt_m: float
    speed_mps: float
    overlap: float
    footprint_m: float
    home: LatLon
    max_alt_m: float = 120.0
    max_speed_mps: float = 15.0
    simplify_tolerance_m: float = 1.0
    sample_step_m: float = 2.0
    max_spacing_m: float = 250.0
    #: The geofence's distance from the route on every side, m (``planning.fence``); 0: no fence.
    fence_margin_m: float = 30.0
    #: Places the route goes around (``planning.detour``), keeping this far clear of each, m.
    no_fly: tuple[NoFlyZone, ...] = ()
    no_fly_margin_m: float = 20.0

    @property
    def margin_m(self) -> float:
        """Bound on how far the flown path strays sideways from the exact offset curve.

        Douglas-Peucker moves it by at most the tolerance; bridging the gap where an inner
        bend's folded samples were dropped cuts the corner by less than half a sample step.
        """
        return self.simplify_tolerance_m + self.sample_step_m / 2

    def check(self) -> None:
        """``PlanError`` naming the first impossible parameter."""
        if not 0 < self.alt_m <= self.max_alt_m:
            raise PlanError(f"altitude {self.alt_m} m is outside (0, {self.max_alt_m}] m")
        if not 0 < self.speed_mps <= self.max_speed_mps:
            raise PlanError(f"speed {self.speed_mps} m/s is outside (0, {self.max_speed_mps}] m/s")
        if not 0 <= self.overlap < 0.95:
            raise PlanError(f"side overlap {self.overlap} is outside [0, 0.95)")
        if self.footprint_m - 2 * self.margin_m <= 0:
            raise PlanError(
                f"camera footprint {self.footprint_m:.1f} m at {self.alt_m} m is too narrow to plan "
                f"with {self.margin_m:.1f} m path tolerance; fly higher"
            )
        if self.fence_margin_m < 0:
            raise PlanError(f"fence margin must be >= 0 m (0: no fence), got {self.fence_margin_m}")
        if self.max_spacing_m <= 0:
            raise PlanError(f"max waypoint spacing must be > 0 m, got {self.max_spacing_m}")
        if self.no_fly_margin_m < 0:
            raise PlanError(f"no-fly margin must be >= 0 m, got {self.no_fly_margin_m}")


@dataclass(frozen=True)
class Waypoint:
    lat: float
    lon: float
    pass_no: int
    """1-based pass this waypoint belongs to."""


@dataclass(frozen=True)
class NoFlyZone:
    """A place the drone must never cross (``planning.nofly``): its name and outline, ``(lat, lon)``
    corners (open ring)."""

    name: str
    ring: tuple[LatLon, ...]


@dataclass(frozen=True)
class PatrolPlan:
    """A planned sortie; ``route`` is home, every waypoint, home."""

    reach: RiverReach
    options: PlanOptions
    pass_offsets_m: tuple[float, ...]
    waypoints: tuple[Waypoint, ...]
    route_length_m: float
    survey_length_m: float
    turn_angles_deg: tuple[float, ...] = field(repr=False)
    #: The geofence: an inclusion polygon around the whole route (``(lat, lon)`` corners, open
    #: ring); empty when the plan was made without one.
    fence: tuple[LatLon, ...] = field(default=(), repr=False)
    #: No-fly zones near the route, kept out by the geofence as exclusion polygons (``nofly.keep_out``).
    keep_out: tuple[NoFlyZone, ...] = field(default=(), repr=False)
    #: What going around each no-fly zone in the way cost (``detour.avoid``).
    detours: tuple[Detour, ...] = field(default=(), repr=False)

    @property
    def home(self) -> LatLon:
        return self.options.home

    @property
    def passes(self) -> int:
        return len(self.pass_offsets_m)

    @property
    def route(self) -> list[LatLon]:
        return [self.home, *((w.lat, w.lon) for w in self.waypoints), self.home]

    def fence_polygons(self) -> list[FencePolygon]:
        """The plan's geofence as a vehicle (and a .plan file) takes it: the inclusion polygon
        around the route, then each no-fly zone near it as an exclusion."""
        inclusion = [FencePolygon(True, self.fence)] if self.fence else []
        return inclusion + [FencePolygon(False, z.ring) for z in self.keep_out]

    def pass_lines(self) -> list[list[LatLon]]:
        """Each pass's waypoints, in flight order."""
        out: dict[int, list[LatLon]] = {}
        for w in self.waypoints:
            out.setdefault(w.pass_no, []).append((w.lat, w.lon))
        return [out[k] for k in sorted(out)]

    @property
    def legs(self) -> list[Leg]:
        """Each leg of the route (home to home): its length and its track."""
        r = self.route
        return [(distance_m(*a, *b), bearing_deg(*a, *b)) for a, b in pairwise(r)]

    def estimate(self, model: EnergyModel, wind: Wind | None = None) -> FlightEstimate:
        o = self.options
        turns = list(self.turn_angles_deg)
        return estimate(self.route_length_m, turns, o.alt_m, o.speed_mps, model, wind, self.legs)


def footprint_width_m(camera: CameraModel, alt_m: float) -> float:
    """Cross-track width on the water of a nadir image at ``alt_m`` (pinhole, no distortion).

    The lens's barrel distortion only widens the real footprint, so this is conservative.
    """
    return 2 * alt_m * math.tan(math.radians(camera.hfov_deg) / 2)


def pass_offsets(
    width_m: float, footprint_m: float, overlap: float, max_turn_deg: float = 0.0
) -> list[float]:
    """Offsets (m, left of the centerline positive) of passes covering ``width_m``.

    The outer passes sit half a footprint inside the banks and the rest are evenly spread,
    so neighbours overlap by at least ``overlap`` of a footprint. At the inside of a corner
    of ``max_turn_deg`` the gap between two offset curves widens by ``1 / cos(turn / 2)``;
    the spacing is narrowed by that factor so the overlap holds there too.
    """
    if footprint_m >= width_m:
        return [0.0]
    span = width_m - footprint_m
    spacing = footprint_m * (1 - overlap) * math.cos(math.radians(min(max_turn_deg, 120.0)) / 2)
    n = math.ceil(span / spacing - 1e-9) + 1
    return [-span / 2 + k * span / (n - 1) for k in range(n)]


def nearest_end(reach: RiverReach, point: LatLon) -> LatLon:
    """The end of the reach's centerline nearest to ``point``: the default launch point."""
    proj = g.Projection(*point)
    ends = (reach.centerline[0], reach.centerline[-1])
    return min(ends, key=lambda e: math.hypot(*proj.to_xy(*e)))


def split_reach(reach: RiverReach, parts: int) -> list[RiverReach]:
    """The reach cut into ``parts`` pieces of equal centerline length (one per sortie)."""
    if parts < 1:
        raise PlanError(f"cannot split into {parts} parts")
    proj = g.Projection(*reach.centerline[0])
    line = g.dedupe([proj.to_xy(*p) for p in reach.centerline])
    total = g.length(line)
    out = []
    for k in range(parts):
        piece = g.substring(
            line, total * k / parts, total * (k + 1) / parts + (1e-9 if k == parts - 1 else 0)
        )
        out.append(
            RiverReach(
                name=f"{reach.name} part {k + 1}/{parts}",
                centerline=tuple(proj.to_latlon(*p) for p in piece),
                width_m=reach.width_m,
            )
        )
    return out


def plan_patrol(reach: RiverReach, options: PlanOptions) -> PatrolPlan:
    """Plan one sortie over the whole reach; ``PlanError`` on impossible parameters."""
    options.check()
    proj = g.Projection(*options.home)
    line = g.simplify(g.dedupe([proj.to_xy(*p) for p in reach.centerline]), 0.1)
    if len(line) < 2 or g.length(line) < options.sample_step_m:
        raise PlanError(f"river {reach.name!r}: centerline is shorter than {options.sample_step_m} m")
    eff = options.footprint_m - 2 * options.margin_m
    offsets = pass_offsets(reach.width_m, eff, options.overlap, max(g.turn_angles_deg(line), default=0.0))
    curves = {d: g.offset_curve(line, d, options.sample_step_m) for d in offsets}
    empty = [d for d, c in curves.items() if len(c) < 2]
    if empty:
        raise PlanError(
            f"river {reach.name!r}: the centerline bends too tightly for a pass {abs(empty[0]):.0f} m "
            "off it; simplify the centerline or fly higher"
        )

    best: tuple[tuple[float, float], list[tuple[int, float, list[g.XY]]]] | None = None
    for forward in (True, False):
        for ascending in (True, False):
            order = sorted(offsets, reverse=not ascending)
            legs = []
            for k, d in enumerate(order):
                curve = curves[d] if forward == (k % 2 == 0) else curves[d][::-1]
                legs.append((k + 1, d, curve))
            # shortest home legs; on a tie (one pass), start surveying at home, not after a transit
            to_start = math.hypot(*legs[0][2][0])
            cost = (round(to_start + math.hypot(*legs[-1][2][-1]), 3), to_start)
            if best is None or cost < best[0]:
                best = (cost, legs)
    assert best is not None  # four candidates were tried

    flown: list[g.XY] = [(0.0, 0.0)]
    passes = [0]
    survey = 0.0
    for pass_no, _, curve in best[1]:
        pts = g.limit_spacing(g.simplify(curve, options.simplify_tolerance_m), options.max_spacing_m)
        survey += g.length(pts)
        flown.extend(pts)
        passes.extend([pass_no] * len(pts))
    flown.append((0.0, 0.0))
    passes.append(0)
    detours: list[Detour] = []
    if options.no_fly:
        zones = [(z.name, [proj.to_xy(*p) for p in z.ring]) for z in options.no_fly]
        try:
            flown, passes, detours = avoid(flown, passes, zones, options.no_fly_margin_m)
        except NoWayAround as e:
            raise PlanError(f"river {reach.name!r}: {e}: launch elsewhere (--home) or plan the stretches"
                            " on either side (--segment, --sortie)") from None  # fmt: skip
    waypoints = [
        Waypoint(*proj.to_latlon(*p), pass_no=k) for p, k in zip(flown[1:-1], passes[1:-1], strict=True)
    ]
    fence: tuple[LatLon, ...] = ()
    if options.fence_margin_m > 0:
        try:
            fence = tuple(proj.to_latlon(*p) for p in corridor(flown, options.fence_margin_m))
        except FenceError as e:
            raise PlanError(f"river {reach.name!r}: {e}") from None
    return PatrolPlan(
        reach=reach,
        options=options,
        pass_offsets_m=tuple(d for _, d, _ in best[1]),
        waypoints=tuple(waypoints),
        route_length_m=g.length(flown),
        survey_length_m=survey,
        turn_angles_deg=tuple(g.turn_angles_deg(g.dedupe(flown))),
        fence=fence,
        detours=tuple(detours),
    )


@dataclass(frozen=True)
class SortieAdvice:
    """How many sorties a reach needs so that each fits the battery, and their estimates."""

    sorties: int
    estimates: tuple[FlightEstimate, ...]


def advise_sorties(
    reach: RiverReach,
    options: PlanOptions,
    model: EnergyModel,
    launch_near: LatLon | None = None,
    max_sorties: int = 50,
    wind: Wind | None = None,
) -> SortieAdvice | None:
    """Fewest equal parts of the reach whose plans all fit the battery; None if up to ``max_sorties`` don't.

    With ``launch_near`` each part launches from its own end nearest that point (the operator
    moves along the river); without it every part flies from ``options.home``, so distant parts
    pay longer home legs — why this searches rather than dividing energy by capacity.
    """
    if launch_near is None and _farthest_point_out_of_reach(reach, options, model, wind):
        return None
    for n in range(1, max_sorties + 1):
        ests = []
        for part in split_reach(reach, n):
            opts = options if launch_near is None else replace(options, home=nearest_end(part, launch_near))
            ests.append(plan_patrol(part, opts).estimate(model, wind))
        if all(e.fits for e in ests):
            return SortieAdvice(n, tuple(ests))
    return None


def _farthest_point_out_of_reach(
    reach: RiverReach, options: PlanOptions, model: EnergyModel, wind: Wind | None = None
) -> bool:
    """True when flying from home to the reach's farthest point and straight back exceeds the battery.

    Some sortie must visit that point, so no split can help.
    """
    home = options.home
    p = max(reach.centerline, key=lambda q: distance_m(*home, *q))
    far, out = distance_m(*home, *p), bearing_deg(*home, *p)
    legs = [(far, out), (far, (out + 180.0) % 360.0)]
    return not estimate(2 * far, [180.0], options.alt_m, options.speed_mps, model, wind, legs).fits
