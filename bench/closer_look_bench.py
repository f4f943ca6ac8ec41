"""A closer look at a find, through the whole drone side: the photo and position an inspector gets
from the patrol's height against those after the operator's ``gcs mission goto --alt 12``.

It flies the demo's patrol (the simulator with its camera over the seeded, littered river, the
edge agent with its ONNX detector, tracker and outbox, an embedded MQTT broker) until a find is
announced (its ``new`` alert: the baseline, from the same item in the same run), then sends the
drone to it with the operator's own command, ``riverpatrol gcs mission goto LAT,LON --alt 12``,
holds there a while, and goes on with ``gcs mission resume``; ``--finds`` times. For each find:

* how large the camera saw the item (its box in the simulator's ground truth, median side in
  pixels of the frames it was in full view): while patrolling, and while holding over it;
* whether the item's update carries a photo from the closer look (its best frame, ``captured_at``,
  after the last frame the patrol saw it in, ``track.last_seen`` of its latest alert before);
* how far the alert put the item from where it really was at that look, and the radius it claimed;
* how long from the command until the item's update reached the broker;
* how many second ``new`` alerts an item already announced got (one item should give one
  alert), during a closer look and while patrolling; and how many alerts a closer look renamed
  (it named the item otherwise than the patrol did: the same alert, a new class).

With ``--inspector`` the look is asked for as an inspector does, through the whole chain: the
cloud (the same app as ``riverpatrol cloud serve``) and the station's relay run too; once the find
is in the cloud, the inspector's ``POST /api/v1/alerts/{id}/look`` asks for it, the relay reads the
request (every ``relay_looks_poll_s``, 30 s), the operator flies to the point the request gives,
and the bench times how long from the request until the station had it and until the cloud took
the closer photo as its answer (``look_done_at``: the inspector's page says so and pages them).

    python bench/closer_look_bench.py [--finds 3] [--alt 12] [--seed 7] [--inspector]

Writes ``bench/results/closer_look.json``. About 5-10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402

import contract.mavlink  # noqa: E402, F401  (MAVLINK20 + ardupilotmega before pymavlink)
from bench.machine import machine_info, versions  # noqa: E402
from contract import defaults, geo, topics  # noqa: E402
from contract.logs import configure_logging  # noqa: E402
from models.patrol_eval import MATCH_M, pair_closest  # noqa: E402

OUT = ROOT / "bench" / "results" / "closer_look.json"


def truth_lines(path: Path) -> list[dict]:
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]


def item_near(frames: list[dict], lat: float, lon: float, within_m: float = float("inf")) -> int | None:
    """The debris item seen in ``frames`` nearest (lat, lon), within ``within_m``."""
    best: tuple[float, int] | None = None
    for fr in frames:
        for b in fr["truth"]:
            d = geo.distance_m(lat, lon, b["lat"], b["lon"])
            if best is None or d < best[0]:
                best = (d, b["item_id"])
    return None if best is None or best[0] > within_m else best[1]


def seen(frames: list[dict], item: int) -> list[dict]:
    """The item's boxes in ``frames`` where it was in full view."""
    return [b for fr in frames for b in fr["truth"] if b["item_id"] == item and b["visible_fraction"] >= 0.99]


def side_px(b: dict) -> float:
    x1, y1, x2, y2 = b["box"]
    return ((x2 - x1) * (y2 - y1)) ** 0.5


def view(boxes: list[dict], alert: dict | None, where: dict | None) -> dict:
    """What one look gave: the item's size in its frames, and the alert's position against where
    the item was in the last frame rendered before the alert reached the broker (the current
    moves it: truth of another moment would count the drift as the drone's error)."""
    return {
        "item_px_median": statistics.median(map(side_px, boxes)) if boxes else None,
        "frames_in_full_view": len(boxes),
        "position_error_m": (
            geo.distance_m(alert["lat"], alert["lon"], where["lat"], where["lon"])
            if alert and where
            else None
        ),
        "uncertainty_m": alert["uncertainty_m"] if alert else None,
        "confidence": alert["confidence"] if alert else None,
    }


def frames_in(path: Path, nbytes: int) -> int:
    """How many whole truth lines (frames) the first ``nbytes`` of ``path`` hold."""
    with path.open("rb") as f:
        return f.read(nbytes).count(b"\n")


def where_at(frames: list[dict], path: Path, item: int | None, alert: dict | None) -> dict | None:
    """The item's box in the last frame rendered before ``alert`` reached the broker."""
    if alert is None or item is None:
        return None
    boxes = seen(frames[: frames_in(path, alert["_truth_bytes"])], item)
    return boxes[-1] if boxes else None


def second_news(
    by_id: dict[str, list[tuple[float, dict]]],
    frames: list[dict],
    path: Path,
    looks: list[tuple[float, float]],
) -> Counter[str]:
    """``new`` alerts for an item another alert already stands for, counted where the second ``new``
    came: during a look or patrolling. Each alert is as near an item as its nearest event came to
    where the item was in the frames just before that event (a name or place a later event fixed
    counts); alerts and items are then paired one to one, closest pairs first, within ``MATCH_M``
    (as the alert scoring does). An alert near items that all have one is a second ``new``: the
    later of the two for that item."""
    near: list[tuple[float, str, int]] = []
    for aid, got in by_id.items():
        best: dict[int, float] = {}
        for _, b in got:
            n = frames_in(path, b["_truth_bytes"])
            at = {
                x["item_id"]: (x["lat"], x["lon"]) for fr in frames[max(0, n - 40) : n] for x in fr["truth"]
            }
            for i, p in at.items():
                best[i] = min(best.get(i, math.inf), geo.distance_m(b["lat"], b["lon"], *p))
        near += [(d, aid, i) for i, d in best.items() if d <= MATCH_M]
    paired, duplicates = pair_closest(near)
    came = {aid: min(t for t, _ in got) for aid, got in by_id.items()}  # when each first arrived
    by_item = {i: aid for aid, i in paired.items()}
    extra: Counter[str] = Counter()
    for aid, i in duplicates.items():  # the later of the two alerts for one item is the second
        t = max(came[aid], came[by_item[i]])
        extra["during_a_closer_look" if any(a <= t <= z for a, z in looks) else "patrolling"] += 1
    return extra


def renamed_in(by_id: dict[str, list[tuple[float, dict]]], looks: list[tuple[float, float]]) -> int:
    """Alerts whose class an event during a closer look changed (the look named the item anew)."""
    n = 0
    for got in by_id.values():
        seq = sorted(got, key=lambda tb: tb[0])
        n += any(
            b["debris_class"] != a["debris_class"] and any(lo <= t <= hi for lo, hi in looks)
            for (_, a), (t, b) in pairwise(seq)
        )
    return n


def drain(alerts: queue.Queue, by_id: dict[str, list[tuple[float, dict]]]) -> None:
    """Everything received so far, kept by item."""
    while True:
        try:
            t, b = alerts.get_nowait()
        except queue.Empty:
            return
        by_id.setdefault(b["alert_id"], []).append((t, b))


def since(a: str, b: str) -> bool:
    """Whether the wire time ``a`` is after ``b``."""
    return datetime.fromisoformat(a) > datetime.fromisoformat(b)


def gcs(url: str, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """The operator's command, as typed (no relay database: the point is given as LAT,LON)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVERPATROL_")}
    env |= {"RIVERPATROL_GCS_DATA_DIR": tempfile.mkdtemp(prefix="closer-gcs-"), "COLUMNS": "200"}
    env |= {"RIVERPATROL_GCS_PAYLOAD_CHECK": "false"}
    return subprocess.run(
        [sys.executable, "-m", "riverpatrol", "gcs", "mission", *args, "--mavlink", url],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def med_of(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 1) if xs else None


class InspectorChain:
    """The cloud and the station's relay, in process, for ``--inspector``: an inspector asks for
    each look on the cloud's API; the operator takes the point from what the relay read."""

    def __init__(self, work: Path, broker) -> None:
        self.work, self.broker = work, broker
        self.station, self.inspector = "bench-station", "bench-inspector"

    def start(self, stack: list) -> InspectorChain:
        import secrets

        import httpx

        from cloud.settings import CloudSettings
        from ground_station.relay.service import Relay, RelayConfig
        from riverpatrol.demo.cloud_server import ServedCloud

        st_token, in_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.cloud = ServedCloud(
            CloudSettings(
                data_dir=self.work / "cloud", station_tokens={self.station: st_token},
                inspector_tokens={self.inspector: in_token}, log_level="WARNING",
            )
        ).start()  # fmt: skip
        stack.append(self.cloud)
        self.relay = Relay(
            RelayConfig(
                db_path=self.work / "relay.db", cloud_url=self.cloud.url, token=st_token,
                mqtt_host=self.broker.host, mqtt_port=self.broker.port, client_id="closer-look-relay",
                mqtt_protocol="3.1.1",  # the embedded broker (amqtt) speaks no MQTT 5
            )
        )  # fmt: skip
        self.relay.start()
        stack.append(self.relay)
        self.http = httpx.Client(
            base_url=self.cloud.url, headers={"Authorization": f"Bearer {in_token}"}, timeout=10
        )
        return self

    def ask(self, alert_id: str, wait_s: float = 120.0) -> dict:
        """Ask once the find is in the cloud; wait until the relay has read the request."""
        from ground_station.relay.service import wait_until

        if not wait_until(lambda: self.http.get(f"/api/v1/alerts/{alert_id}").status_code == 200, 30.0):
            return {"error": "the find did not reach the cloud in 30 s"}
        r = self.http.post(f"/api/v1/alerts/{alert_id}/look", json={"note": "closer look bench"})
        if r.status_code != 200:
            return {"error": f"asking: HTTP {r.status_code}: {r.text[:200]}"}
        t0 = time.monotonic()
        read = lambda: [q for q in self.relay.look_requests if str(q.alert_id) == alert_id]  # noqa: E731
        if not wait_until(lambda: bool(read()), wait_s):
            return {"error": f"the station did not read the request in {wait_s:g} s"}
        q = read()[0]
        return {"t0": t0, "to_station_s": round(time.monotonic() - t0, 1), "lat": q.lat, "lon": q.lon}

    def answered(self, alert_id: str, asked: dict, wait_s: float = 60.0) -> dict:
        """Wait for the cloud to take a photo from after the request; how long it took from the ask."""
        from ground_station.relay.service import wait_until

        item: dict = {}

        def done() -> bool:
            item.update(self.http.get(f"/api/v1/alerts/{alert_id}").json())
            return item.get("look_done_at") is not None

        took = wait_until(done, wait_s, poll=0.5)
        ask, answer = (item.get(k) for k in ("look_asked_at", "look_done_at"))
        return {  # by the cloud's own clock: from the request to the photo that answered it
            "to_photo_s": round(
                (datetime.fromisoformat(answer) - datetime.fromisoformat(ask)).total_seconds(), 1
            )
            if took and ask
            else None,
            "class_in_cloud": item.get("class"),
            "look_seen_by": item.get("look_seen_by"),
        }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--finds", type=int, default=3)
    ap.add_argument("--alt", type=float, default=12.0, help="height of the closer look, m")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--hold-s", type=float, default=20.0, help="wall seconds held over each find")
    ap.add_argument(
        "--inspector", action="store_true", help="an inspector asks for each look through cloud and relay"
    )
    args = ap.parse_args()

    from edge.agent import EdgeAgent
    from edge.settings import EdgeSettings
    from ground_station.mavlink import VehicleClient
    from ground_station.missions.geofence import upload_fence
    from ground_station.relay.service import wait_until
    from riverpatrol.demo.broker import EmbeddedBroker
    from riverpatrol.demo.run import DemoOptions, plan_items, sim_spec
    from riverpatrol.demo.simulator import SimProcess

    o = DemoOptions(seed=args.seed)
    plan, items = plan_items(o.segment, (defaults.HOME_LAT, defaults.HOME_LON), o)
    work = Path(tempfile.mkdtemp(prefix="closer-look-"))
    truth_path = work / "truth.jsonl"
    configure_logging("INFO", path=work / "bench.log")  # the agent's and the client's lines
    by_id: dict[str, list[tuple[float, dict]]] = {}
    stack: list = []
    alerts: queue.Queue[tuple[float, dict]] = queue.Queue()
    results = []
    looks: list[tuple[float, float]] = []  # wall spans from each goto to its resume
    try:
        broker = EmbeddedBroker().start()
        stack.append(broker)
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        sub.on_connect = lambda c, *_: c.subscribe(topics.fleet_filter(topics.ALERTS), qos=1)

        def received(_c: object, _u: object, m: mqtt.MQTTMessage) -> None:
            a = json.loads(m.payload)
            a["_truth_bytes"] = truth_path.stat().st_size if truth_path.exists() else 0  # frames so far
            alerts.put((time.monotonic(), a))

        sub.on_message = received
        sub.connect(broker.host, broker.port)
        sub.loop_start()
        sim = SimProcess(sim_spec(o, work)).start()
        stack.append(sim)
        url = f"tcp:127.0.0.1:{sim.tcp_port}"
        agent = EdgeAgent(
            EdgeSettings(
                mavlink=url, link_timeout=2.0, camera=f"sim://127.0.0.1:{sim.feed_port}",
                broker_host=broker.host, broker_port=broker.port, outbox_path=work / "edge_outbox.db",
                drone_id="drone-1", mission_id="closer-look",
            )
        ).start()  # fmt: skip
        stack.append(agent)
        chain = InspectorChain(work, broker).start(stack) if args.inspector else None
        with VehicleClient.connect(url, heartbeat_timeout=15.0, timeout=2.0) as v:
            v.upload_mission(items)
            upload_fence(v, plan.fence_polygons(), 120.0, "smartrtl")
            v.wait_armable(120.0)
            v.set_mode("GUIDED")
            if not v.arm().accepted:
                raise RuntimeError("arming refused")
            v.takeoff(o.alt_m)
            climbed = lambda: (agent.telemetry.snapshot().alt_rel_m or 0.0) > o.alt_m * 0.8  # noqa: E731
            if not wait_until(climbed, 60.0):
                raise RuntimeError("the vehicle did not climb")
            v.start_mission()
        print(f"patrolling {plan.reach.name} at {o.alt_m:g} m; work folder {work}", flush=True)

        looked: set[str] = set()
        while len(results) < args.finds:
            try:
                at, a = alerts.get(timeout=300)
            except queue.Empty:
                print("no new find within 300 s: the patrol ran out of river", flush=True)
                break
            by_id.setdefault(a["alert_id"], []).append((at, a))
            if a["event"] != "new" or a["alert_id"] in looked:
                continue
            looked.add(a["alert_id"])
            drain(alerts, by_id)
            patrol_saw = max(b["track"]["last_seen"] for _, b in by_id[a["alert_id"]])
            asked: dict = {}
            point = f"{a['lat']:.7f},{a['lon']:.7f}"
            if chain is not None:  # the inspector asks; the operator flies to what the station read
                asked = chain.ask(a["alert_id"])
                print(f"find {a['alert_id'][:8]}: {json.dumps(asked)}", flush=True)
                if asked.get("lat") is None:
                    results.append({"alert_id": a["alert_id"], "goto_rc": None, "asked": asked})
                    continue
                point = f"{asked['lat']:.7f},{asked['lon']:.7f}"
                drain(alerts, by_id)
            boundary = len(truth_lines(work / "truth.jsonl"))
            sent = time.monotonic()
            went = gcs(url, "goto", point, "--alt", f"{args.alt:g}")
            arrived_s = time.monotonic() - sent
            said = f"find {a['alert_id'][:8]} ({a['debris_class']}): goto rc {went.returncode}"
            said += f" in {arrived_s:.0f} s"
            print(said, flush=True)
            if went.returncode != 0:
                print(went.stderr.strip(), flush=True)
                results.append(
                    {"alert_id": a["alert_id"], "goto_rc": went.returncode, "goto_said": went.stderr[-400:]}
                )
                gcs(url, "resume")
                continue
            time.sleep(args.hold_s)
            held = len(truth_lines(work / "truth.jsonl"))
            resumed = gcs(url, "resume")
            looks.append((sent, time.monotonic()))
            if chain is not None:
                asked.update(chain.answered(a["alert_id"], asked))
                asked.pop("t0", None)
            drain(alerts, by_id)
            updates = [(t, b) for t, b in by_id.get(a["alert_id"], []) if t > sent and b["event"] == "update"]
            frames = truth_lines(work / "truth.jsonl")
            item = item_near(frames[:boundary], a["lat"], a["lon"])
            patrol_boxes = seen(frames[:boundary], item) if item is not None else []
            close_boxes = seen(frames[boundary:held], item) if item is not None else []
            where = (close_boxes or patrol_boxes or [None])[-1]
            last = updates[-1][1] if updates else None

            results.append(
                {
                    "alert_id": a["alert_id"], "class": a["debris_class"], "truth_item": item,
                    "truth_size_m": where["size_m"] if where else None, "goto_rc": went.returncode,
                    "goto_wall_s": round(arrived_s, 1), "resume_rc": resumed.returncode,
                    "update_after_s": round(updates[0][0] - sent, 1) if updates else None,
                    "updates": len(updates),
                    "photo_from_closer_look": bool(last and since(last["captured_at"], patrol_saw)),
                    "patrol": view(patrol_boxes, a, where_at(frames, truth_path, item, a)),
                    "closer": view(close_boxes, last, where_at(frames, truth_path, item, last)),
                    **({"inspector": asked} if chain is not None else {}),
                }
            )  # fmt: skip
            r = results[-1]
            print(
                json.dumps(
                    {
                        k: r[k]
                        for k in (
                            "class",
                            "updates",
                            "update_after_s",
                            "photo_from_closer_look",
                            "patrol",
                            "closer",
                        )
                    }
                ),
                flush=True,
            )
    finally:
        for part in reversed(stack):
            try:
                part.stop()
            except Exception as e:  # the rest still stops
                print(f"stopping {type(part).__name__}: {e}", flush=True)

    drain(alerts, by_id)
    with (work / "alerts.jsonl").open("w") as f:  # every alert received, pictures left out
        for got in by_id.values():
            for t, b in got:
                f.write(
                    json.dumps({"received_s": t, **{k: v for k, v in b.items() if not k.endswith("_jpeg")}})
                    + "\n"
                )
    # a closer look must not make a second `new` for an item already announced
    frames = truth_lines(truth_path)
    news = [b for got in by_id.values() for _, b in got if b["event"] == "new"]
    extra = second_news(by_id, frames, truth_path, looks)
    looked_at = [r for r in results if r.get("goto_rc") == 0]
    with_update = [r for r in looked_at if r["updates"]]

    def med(side: str, key: str) -> float | None:
        xs = [r[side][key] for r in with_update if r[side][key] is not None]
        return round(statistics.median(xs), 3) if xs else None

    answered = [r["inspector"] for r in looked_at if r.get("inspector", {}).get("to_photo_s") is not None]
    asking = {}
    if args.inspector:
        asking = {
            "looks_asked_by_an_inspector": sum(1 for r in results if "inspector" in r or "asked" in r),
            "looks_answered_with_a_photo": len(answered),
            "ask_to_station_s_median": med_of([r["inspector"].get("to_station_s") for r in looked_at]),
            "ask_to_photo_s_median": med_of([a["to_photo_s"] for a in answered]),
        }
    summary = {
        **asking,
        "finds_looked_at": len(looked_at),
        "finds_with_an_update": len(with_update),
        "updates_with_a_closer_photo": sum(r["photo_from_closer_look"] for r in with_update),
        "new_alerts": len(news),
        "second_new_for_an_item_during_a_closer_look": extra["during_a_closer_look"],
        "second_new_for_an_item_patrolling": extra["patrolling"],
        "renamed_during_a_closer_look": renamed_in(by_id, looks),
        "closer_alt_m": args.alt,
        "patrol_alt_m": o.alt_m,
        **{
            f"{key}_{side}": med(side, key)
            for key in ("item_px_median", "position_error_m", "uncertainty_m")
            for side in ("patrol", "closer")
        },
    }
    doc = {
        "bench": "closer_look",
        "baseline": "the same item's `new` alert from the patrol height, in the same run",
        "machine": machine_info(packages=versions("onnxruntime", "opencv-python-headless", "numpy")),
        "summary": summary,
        "finds": results,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2))
    print(json.dumps(summary, indent=2))
    print(f"wrote {OUT}")
    return 0 if with_update else 1


if __name__ == "__main__":
    raise SystemExit(main())
