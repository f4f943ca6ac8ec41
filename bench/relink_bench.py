"""How often the tracker links a re-sighting minutes later to the right item: patrols that pass
each stretch more than once, on synthetic sightings with exact identities.

A patrol that flies a reach out and back sees most items two or more times, minutes apart. In
between the current moves them (the simulator's: 0.3 m/s mid-river, slower by the banks), so the
tracker's gate for a re-sighting grows with the gap (``TrackerConfig.max_drift_mps``), and a
look-alike inside it can take the item's place: the item's alert then points at the other one, and
one of the two has no alert. This bench measures each way of gating on the same sightings:

* the world is the demo's (``riverpatrol demo``): the seeded simulator scene of the bundled river,
  its items drifting with the current and their leeway of the demo's breeze across the river
  (``--wind`` m/s; ``sim.camera.scene.LEEWAY``), the planned patrol of ``--segment`` flown at the
  plan's speed and height, ``--fps`` frames a second;
* each debris item in the picture is a sighting with probability ``--detect`` (small ones half
  as often): its true centre projected into the frame, geolocated (``edge.geolocate``) from a
  reported pose off the true one by a GNSS error that wanders (1 m per axis, over a minute) and
  attitude jitter, named right 85 % of the time (foam for styrofoam, else any other class);
  ``--across`` lets items also drift across the river on their own (m/s, each its own, normal:
  eddies, or a wind the agent is not told); ``--turn`` turns the world's
  river off the bundled centerline the tracker knows (degrees, about the patrol's first lane's
  middle): what a centerline drawn off the water costs it;
* every variant tracks the same sightings. Each sighting knows its item, so each decision of
  the tracker is scored: a re-sighting linked to the right item or to another one, a new alert
  for an item that already had one (a duplicate), and in the end the items passed that kept an
  alert of their own.

    python bench/relink_bench.py [--seeds 7,8,9,10,11] [--wind 3] [--across 0.0] [--turn 0]

Baseline in the same run: the tracker without the river's frame (``river_frame=False``), the gate
every release before this one shipped. Writes ``bench/results/relink.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import machine_info, versions  # noqa: E402
from contract import geo  # noqa: E402
from contract.camera import CameraModel, CameraMount, CameraPose, lat_lon_to_pixel  # noqa: E402
from contract.defaults import HOME_LAT, HOME_LON  # noqa: E402
from contract.rivers import rivers  # noqa: E402
from edge.geolocate import GeoConfig, GeoFix, geolocate_pixel  # noqa: E402
from edge.tracker import Sighting, Tracker, TrackerConfig, _Item, _Track  # noqa: E402
from riverpatrol.demo.run import DemoOptions, plan_items, sim_spec  # noqa: E402

OUT = ROOT / "bench" / "results" / "relink.json"
CONFUSED = {"foam": "styrofoam", "styrofoam": "foam"}
#: name -> TrackerConfig changes; the first is the baseline. Each is told the wind, as the agent
#: tells its tracker the autopilot's estimate, but for "windage 0" (what the wind buys).
VARIANTS: dict[str, dict] = {
    "no river frame (baseline)": {"river_frame": False},
    "river frame (shipped)": {},
    "river frame, windage 0": {"windage": 0.0},
    "river frame, windage 5 %": {"windage": 0.05},
    "river frame, never turning": {"rivers": tuple(replace(r, tidal=False) for r in rivers().values())},
    "river frame, across 0.1 m/s": {"across_drift_mps": 0.1},
}


@dataclass
class Frame:
    t: float
    sightings: list[Sighting]
    truth: dict[int, int]  # id(sighting) -> item id


def fly(
    waypoints: list[tuple[float, float]], speed: float, fps: float
) -> list[tuple[float, float, float, float]]:
    """(t, lat, lon, yaw) of each frame flying the waypoints at ``speed`` (turns taken at once)."""
    out: list[tuple[float, float, float, float]] = []
    t = 0.0
    for (la0, lo0), (la1, lo1) in itertools.pairwise(waypoints):
        n, e = geo.to_local(la0, lo0, la1, lo1)
        length = math.hypot(n, e)
        yaw = math.degrees(math.atan2(e, n)) % 360
        leg_t0 = t
        while True:
            d = (t - leg_t0) * speed
            if d > length:
                break
            lat, lon = geo.offset(la0, lo0, n * d / max(length, 1e-9), e * d / max(length, 1e-9))
            out.append((t, lat, lon, yaw))
            t += 1.0 / fps
    return out


def turned(scene, about: tuple[float, float], deg: float):
    """The scene with its river turned ``deg`` clockwise about ``about`` (lat, lon): a world whose
    river runs otherwise than the bundled centerline the tracker is given."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    line = []
    for lat, lon in scene.centerline:
        n, e = geo.to_local(*about, lat, lon)
        line.append(geo.offset(*about, n * c - e * s, n * s + e * c))
    return replace(scene, centerline=line)


def sightings_of(
    seed: int, segment: str, fps: float, detect: float, across: float, wind: float, turn: float = 0.0
) -> tuple[list[Frame], dict]:
    """The patrol's frames of synthetic sightings, and the world's facts (items, passes)."""
    from riverpatrol.demo.simulator import build_scene

    o = DemoOptions(segment=segment, seed=seed, distractors=0, fps=fps, wind_mps=wind)
    plan, _items = plan_items(segment, (HOME_LAT, HOME_LON), o)
    scene = build_scene(sim_spec(o, Path("unused")))
    if turn:
        mid = plan.waypoints[len(plan.waypoints) // 4]
        scene = turned(scene, (mid.lat, mid.lon), turn)
    river = scene.river
    rng = np.random.default_rng(seed)
    debris = [it for it in scene.items if it.is_debris]
    cross_v = {it.item_id: float(rng.normal(0.0, across)) for it in debris}
    camera = CameraModel.default()
    mount = CameraMount()
    geo_cfg = GeoConfig(camera=camera, mount=mount)
    path = fly([(w.lat, w.lon) for w in plan.waypoints], o.speed_mps, fps)
    gps = np.zeros(2)
    frames: list[Frame] = []
    t0 = 60.0  # the scene's clock at the first frame (take-off and the climb before)
    for t, lat, lon, yaw in path:
        gps += -gps * (1.0 / fps) / 60.0 + rng.normal(0.0, math.sqrt(2.0 / fps / 60.0), 2)  # 1 m, 60 s
        true_pose = CameraPose(lat=lat, lon=lon, alt_m=o.alt_m, roll_deg=0.0, pitch_deg=0.0, yaw_deg=yaw)
        said_lat, said_lon = geo.offset(lat, lon, float(gps[0]), float(gps[1]))
        said = CameraPose(
            lat=said_lat,
            lon=said_lon,
            alt_m=o.alt_m,
            roll_deg=float(rng.normal(0, 0.5)),
            pitch_deg=float(rng.normal(0, 0.5)),
            yaw_deg=yaw + float(rng.normal(0, 1.0)),
        )
        frame = Frame(t, [], {})
        dn, de = geo.to_local(scene.origin[0], scene.origin[1], lat, lon)
        for it in debris:
            st = t0 + t
            pn, pe = river.point_at(it.arc_at(river, st), it.lateral_at(st) + cross_v[it.item_id] * st)
            if abs(pn - dn) > 60 or abs(pe - de) > 60:
                continue
            ila, ilo = scene.to_lat_lon(float(pn), float(pe))
            uv = lat_lon_to_pixel(ila, ilo, true_pose, camera, mount)
            side = it.size_m * camera.fx / o.alt_m
            if uv is None or not (side < uv[0] < camera.width - side and side < uv[1] < camera.height - side):
                continue
            if rng.random() > (detect if it.size_m >= 0.3 else detect / 2):
                continue
            u, v = uv[0] + rng.normal(0, 2.0), uv[1] + rng.normal(0, 2.0)
            fix = geolocate_pixel(u, v, said, geo_cfg)
            if not isinstance(fix, GeoFix):
                continue
            name = it.kind
            if rng.random() > 0.85:
                others = [c for c in ("bottle", "bag", "foam", "styrofoam", "vegetation") if c != name]
                name = CONFUSED.get(name) or str(rng.choice(others))
            box = (u - side / 2, v - side / 2, u + side / 2, v + side / 2)
            sg = Sighting(
                box,
                float(rng.uniform(0.6, 0.95)),
                name,
                fix.lat,
                fix.lon,
                fix.uncertainty_m,
                fix.off_nadir_deg,
                fix.slant_m,
            )
            frame.sightings.append(sg)
            frame.truth[id(sg)] = it.item_id
        frames.append(frame)
    world = {
        "passes": plan.passes,
        "route_km": round(plan.route_length_m / 1000, 2),
        "frames": len(frames),
        "items_on_river": len(debris),
        "wind_mps": wind,
    }
    return frames, world


class Scored(Tracker):
    """The tracker, each of its decisions scored against the sightings' true items."""

    def __init__(self, cfg: TrackerConfig) -> None:
        super().__init__(cfg)
        self.frame_truth: dict[int, int] = {}  # id(sighting) -> item, this frame
        self.votes: dict[int, Counter] = {}  # id(track) -> its sightings' items
        self.item_of: dict[UUID, int] = {}  # alert id -> the item it was made for
        self.counts: Counter = Counter()
        self.decided = -1
        self.seen: set[int] = set()  # items one of whose tracks confirmed

    def _feed(self, tr: _Track, s: Sighting, t: float, frame) -> None:
        if tr.hits == 0:  # a new track (an old one's id may be reused)
            self.votes[id(tr)] = Counter()
        self.votes[id(tr)][self.frame_truth[id(s)]] += 1
        super()._feed(tr, s, t, frame)

    def _find_item(self, tr: _Track, t: float) -> _Item | None:
        item = super()._find_item(tr, t)
        truth = self.votes[id(tr)].most_common(1)[0][0]
        self.seen.add(truth)
        if item is None:
            if truth in self.item_of.values():
                self.counts["duplicate"] += 1  # a second alert for an item that has one
        else:
            kind = "relink" if not item.open else "fragment"
            self.counts[f"{kind} {'right' if self.item_of[item.alert_id] == truth else 'wrong'}"] += 1
        self.decided = truth
        return item

    def _link(self, tr: _Track, t: float, events) -> None:
        had = set(self._items)
        super()._link(tr, t, events)
        for alert_id in set(self._items) - had:
            self.item_of[alert_id] = self.decided


def run_variant(frames: list[Frame], changes: dict, wind: float) -> dict:
    tracker = Scored(replace(TrackerConfig(drone_id="bench"), **changes))
    tracker.set_wind(wind)
    w, h = CameraModel.default().width, CameraModel.default().height
    started = time.perf_counter()
    for f in frames:
        tracker.frame_truth = f.truth
        tracker.update(f.t, f.sightings, frame_size=(w, h))
    tracker.flush(frames[-1].t + 60.0)
    seconds = time.perf_counter() - started
    # An item passed: one of its tracks confirmed. It kept its alert when an item made for it is
    # still its (its alert was not taken over by another's re-sighting).
    c = tracker.counts
    relinks = c["relink right"] + c["relink wrong"]
    own = set(tracker.item_of.values())
    return {
        "relinks_right": c["relink right"],
        "relinks_wrong": c["relink wrong"],
        "relink_wrong_share": round(c["relink wrong"] / relinks, 3) if relinks else None,
        "fragments_wrong": c["fragment wrong"],
        "duplicates": c["duplicate"],
        "alerts": len(tracker.item_of),
        "items_with_alert": len(own),
        "items_seen": len(tracker.seen),
        "tracker_s": round(seconds, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="7,8,9,10,11")
    ap.add_argument("--segment", default="shenzhen-4")
    ap.add_argument("--fps", type=float, default=4.0)
    ap.add_argument(
        "--detect", type=float, default=0.7, help="chance an item in the picture is detected, per frame"
    )
    ap.add_argument("--across", type=float, default=0.0, help="items' own drift across the river, m/s (sd)")
    ap.add_argument(
        "--wind", type=float, default=DemoOptions().wind_mps, help="m/s, from the demo's direction"
    )
    ap.add_argument(
        "--turn",
        type=float,
        default=0.0,
        help="the world's river turned this many degrees off the bundled line",
    )
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    totals: dict[str, Counter] = {name: Counter() for name in VARIANTS}
    per_seed = []
    for seed in seeds:
        frames, world = sightings_of(
            seed, args.segment, args.fps, args.detect, args.across, args.wind, args.turn
        )
        row = {"seed": seed, **world, "variants": {}}
        for name, changes in VARIANTS.items():
            r = run_variant(frames, changes, args.wind)
            row["variants"][name] = r
            totals[name].update({k: v for k, v in r.items() if isinstance(v, int)})
        per_seed.append(row)
        print(
            f"seed {seed}: {world['frames']} frames, {world['passes']} passes, "
            + "; ".join(
                f"{n.split(' (')[0]}: {r['relinks_wrong']}/{r['relinks_right'] + r['relinks_wrong']} wrong, "
                f"{r['items_with_alert']}/{r['items_seen']} kept"
                for n, r in row["variants"].items()
            )
        )
    head = ("re-sightings", "wrong", "dupes", "alerts", "items kept/seen")
    print(f"\n{'variant':32} " + " ".join(f"{h:>{w}}" for h, w in zip(head, (12, 6, 6, 7, 16), strict=True)))
    summary = {}
    for name, t in totals.items():
        rel = t["relinks_right"] + t["relinks_wrong"]
        summary[name] = {
            **t,
            "relink_wrong_share": round(t["relinks_wrong"] / rel, 3) if rel else None,
            "kept_share": round(t["items_with_alert"] / t["items_seen"], 3) if t["items_seen"] else None,
        }
        print(
            f"{name:32} {rel:12d} {t['relinks_wrong']:6d} {t['duplicates']:6d} {t['alerts']:7d} "
            f"{t['items_with_alert']:>8d}/{t['items_seen']:<7d}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "bench": "relink",
                "machine": machine_info(),
                "versions": versions(),
                "args": {k: str(v) for k, v in vars(args).items()},
                "baseline": next(iter(VARIANTS)),
                "summary": summary,
                "per_seed": per_seed,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
