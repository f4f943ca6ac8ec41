"""How well the drones' drift estimates tell where a find is minutes later: the point a closer
look flies to (``gcs mission goto ID``, ``contract.drift.where_now``) against where the
simulator's current really carried the item, for every find of a demo patrol.

It reads a finished demo's work folder (``riverpatrol demo --no-serve --workdir DIR``; without
``--workdir`` it runs one first, about 6 minutes): the station's relay outbox holds each find's
latest alert, ``truth.jsonl`` the simulator's ground truth, and the scene is rebuilt from the
demo's seed to ask where each item is at any time (``WorldItem.position_ne``). Each alert is paired
with its item (one to one, closest first, within ``MATCH_M``, as the demo's score does). For each:

* the drift the drone reported (``Alert.drift``) against the item's true velocity when last seen;
* after ``--after`` seconds, how far from the item the extrapolated point is; the baseline, in the
  same run, is the point where it was seen (what a look flew to before drift was reported);
* how many of them a 12 m camera's view would still hold (within ``--view-m`` of the item).

    python bench/drift_bench.py [--workdir DIR] [--after 60,180,300,600] [--view-m 5]

Writes ``bench/results/drift.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import machine_info, versions  # noqa: E402
from contract import geo  # noqa: E402
from contract.drift import where_now  # noqa: E402
from contract.messages import Alert  # noqa: E402
from models.patrol_eval import MATCH_M, pair_closest  # noqa: E402
from riverpatrol.demo.run import DemoOptions, sim_spec  # noqa: E402
from riverpatrol.demo.simulator import build_scene  # noqa: E402

OUT = ROOT / "bench" / "results" / "drift.json"


def latest_alerts(relay_db: Path) -> list[Alert]:
    """Each find's latest alert as the station's relay outbox keeps it."""
    with sqlite3.connect(relay_db) as db:
        return [Alert.model_validate_json(p) for (p,) in db.execute("SELECT payload FROM alerts")]


def truth_tracks(path: Path) -> dict[int, list[tuple[float, float, float]]]:
    """item id -> (sim time, lat, lon) of every frame it was in."""
    tracks: dict[int, list[tuple[float, float, float]]] = {}
    with path.open() as f:
        for line in f:
            fr = json.loads(line)
            for b in fr["truth"]:
                tracks.setdefault(b["item_id"], []).append((fr["time_boot_s"], b["lat"], b["lon"]))
    return tracks


def pair(alerts: list[Alert], tracks: dict[int, list[tuple[float, float, float]]]) -> dict[int, int]:
    """alert index -> item id: one to one, closest first, within ``MATCH_M`` of where it really was."""
    cands = []
    for i, a in enumerate(alerts):
        for item, pts in tracks.items():
            d = min(geo.distance_m(a.lat, a.lon, la, lo) for _, la, lo in pts)
            if d <= MATCH_M:
                cands.append((d, i, item))
    return pair_closest(cands)[0]


def boot_unix(alerts: list[Alert], matched: dict[int, int], tracks) -> float:
    """The vehicle clock's epoch: UTC = boot_unix + sim time. Each find was first seen about when
    its item entered the picture; the median over finds shrugs off the few seen late."""
    return statistics.median(
        alerts[i].track.first_seen.timestamp() - tracks[item][0][0] for i, item in matched.items()
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, help="a finished demo's --workdir (else one is run)")
    ap.add_argument("--after", default="60,180,300,600", help="seconds after last seen, comma-separated")
    ap.add_argument("--view-m", type=float, default=5.0, help="half a 12 m camera's view")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    afters = [float(x) for x in args.after.split(",")]
    work = args.workdir
    if work is None:
        work = Path(tempfile.mkdtemp(prefix="drift-bench-"))
        print(f"running the demo into {work} (about 6 minutes) ...", flush=True)
        subprocess.run(["riverpatrol", "demo", "--no-serve", "--workdir", str(work)], check=True)
    o = DemoOptions()
    scene = build_scene(sim_spec(o, work))
    world = {w.item_id: w for w in scene.debris}
    alerts = latest_alerts(work / "relay.db")
    tracks = truth_tracks(work / "truth.jsonl")
    matched = pair(alerts, tracks)
    epoch = boot_unix(alerts, matched, tracks)

    def truth_at(item: int, t: float) -> tuple[float, float]:
        n, e = world[item].position_ne(scene.river, t)
        return scene.to_lat_lon(n, e)

    rows: list[dict[str, Any]] = []
    for i, item in sorted(matched.items()):
        a = alerts[i]
        t_seen = a.track.last_seen.timestamp() - epoch
        true_lat, true_lon = truth_at(item, t_seen)
        n1, e1 = geo.to_local(*truth_at(item, t_seen - 1), *truth_at(item, t_seen + 1))
        row: dict[str, Any] = {
            "alert_id": str(a.alert_id), "class": a.debris_class.value, "item": item,
            "passes": a.track.passes,
            "seen_error_m": round(geo.distance_m(a.lat, a.lon, true_lat, true_lon), 2),
            "true_drift_mps": [round(e1 / 2, 3), round(n1 / 2, 3)],
            "drift_mps": [a.drift.east_mps, a.drift.north_mps] if a.drift else None,
            "drift_sigma_mps": a.drift.sigma_mps if a.drift else None,
            "drift_over_s": a.drift.over_s if a.drift else None,
            "after": {},
        }  # fmt: skip
        if a.drift:
            miss = math.hypot(a.drift.east_mps - e1 / 2, a.drift.north_mps - n1 / 2)
            row["drift_error_mps"] = round(miss, 3)
        for h in afters:
            now = a.track.last_seen + timedelta(seconds=h)
            w = where_now(a.lat, a.lon, a.drift, a.track.last_seen, now)
            there = truth_at(item, t_seen + h)
            row["after"][str(int(h))] = {
                "predicted_m": round(geo.distance_m(w.lat, w.lon, *there), 2),
                "as_seen_m": round(geo.distance_m(a.lat, a.lon, *there), 2),
                "spread_m": round(w.spread_m, 1),
            }
        rows.append(row)

    with_drift = [r for r in rows if r["drift_mps"] is not None]
    summary: dict = {
        "finds_paired": len(rows),
        "finds_with_drift": len(with_drift),
        "true_speed_mps_median": round(statistics.median(math.hypot(*r["true_drift_mps"]) for r in rows), 3)
        if rows
        else None,
        "drift_error_mps_median": round(statistics.median(r["drift_error_mps"] for r in with_drift), 3)
        if with_drift
        else None,
        "after": {},
    }
    for h in afters:
        k = str(int(h))
        pred = [r["after"][k]["predicted_m"] for r in rows]
        seen = [r["after"][k]["as_seen_m"] for r in rows]
        summary["after"][k] = {
            "predicted_median_m": round(statistics.median(pred), 1) if pred else None,
            "as_seen_median_m": round(statistics.median(seen), 1) if seen else None,
            "predicted_in_view": sum(d <= args.view_m for d in pred),
            "as_seen_in_view": sum(d <= args.view_m for d in seen),
            "within_spread": sum(
                r["after"][k]["predicted_m"] <= r["after"][k]["spread_m"] + 2 * max(r["seen_error_m"], 1.0)
                for r in with_drift
            ),
        }
    print(f"{len(rows)} finds paired with their items, {len(with_drift)} with a drift reported")
    print(
        f"true drift median {summary['true_speed_mps_median']} m/s; reported drift error median"
        f" {summary['drift_error_mps_median']} m/s"
    )
    head = f"{'after':>7} {'point flown to: extrapolated':>30} {'as seen (baseline)':>20}"
    print(f"{head}   in a {args.view_m:g} m view")
    for k, s in summary["after"].items():
        print(
            f"{k + ' s':>7} {s['predicted_median_m']:>27} m {s['as_seen_median_m']:>18} m"
            f"   {s['predicted_in_view']} vs {s['as_seen_in_view']} of {len(rows)}"
        )
    result = {
        "bench": "drift",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "versions": versions(),
        "workdir": str(work),
        "view_m": args.view_m,
        "baseline": "the point where the find was seen (no drift)",
        "summary": summary,
        "finds": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
