"""Relay benchmark: alerts/s from the broker to the cloud end to end, and recovery after an outage.

Real parts on loopback: a private Mosquitto (configured by ``gcs broker-config``), the cloud as
its own process (``riverpatrol cloud serve``, SQLite), the relay in this process, and a drone
stand-in publishing contract alerts with ~8 KB thumbnails at QoS 1.

Baseline, same run: the same alerts POSTed straight to the cloud in the relay's batch size by
one HTTP client (no broker, no outbox) — the ceiling the relay's overhead is measured against.

    python bench/relay_bench.py [--alerts 3000] [--outage 10] [--out bench/results/relay.json]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import cv2
import httpx
import numpy as np
import paho.mqtt.client as mqtt
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.machine import machine_info, versions
from contract import topics
from contract.messages import Alert
from ground_station.relay.broker_config import mosquitto_conf
from ground_station.relay.service import Relay, RelayConfig, wait_until

TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def alerts(n: int, tag: str) -> list[str]:
    """``n`` distinct alert JSON payloads, each with its own ~8 KB JPEG thumbnail."""
    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        img = rng.integers(0, 256, (84, 84, 3), dtype=np.uint8)  # noise: JPEG cannot shrink it
        jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        thumb = base64.b64encode(jpeg).decode()
        out.append(
            Alert(
                alert_id=uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{tag}-{i}"), revision=0, event="new",
                drone_id="bench", mission_id="m", captured_at=now, published_at=now,
                lat=22.52 + (i % 100) * 1e-4, lon=114.05 + (i // 100) * 1e-4, uncertainty_m=2.0,
                debris_class="bottle", confidence=0.9, thumbnail_jpeg=thumb,
                track={"sightings": 3, "first_seen": now, "last_seen": now,
                       "top_score": 0.9, "median_score": 0.8},
            ).model_dump_json()
        )  # fmt: skip
    return out


class Cloud:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cfg = workdir / "cloud.toml"
        self.cfg.write_text(
            f'[cloud]\ndata_dir = "{workdir / "cloud"}"\n'
            f'station_tokens = {{ gs = "{TOKEN}" }}\nlog_level = "ERROR"\n'
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "riverpatrol", "cloud", "serve",
             "--config", str(self.cfg), "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def count(self) -> int:
        r = httpx.get(f"{self.url}/api/v1/alerts", params={"limit": 1}, timeout=30)
        return r.json()["total"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=3000, help="alerts per throughput run")
    ap.add_argument(
        "--outage", type=float, default=10.0, help="seconds the cloud is down in the recovery run"
    )
    ap.add_argument("--batch", type=int, default=200, help="relay batch size (and the baseline's)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/relay.json"))
    args = ap.parse_args()
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    mport = free_port()
    conf = work / "mosquitto.conf"
    conf.write_text(
        mosquitto_conf(mport, work, bind="127.0.0.1") + ("user root\n" if os.geteuid() == 0 else "")
    )
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_port(mport)
    cloud = Cloud(work)
    cloud.start()
    results: dict = {}
    try:
        # Baseline: straight to the cloud, same batch size, one client.
        base = alerts(args.alerts, "baseline")
        with httpx.Client(
            base_url=cloud.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        ) as http:
            t0 = time.perf_counter()
            for i in range(0, len(base), args.batch):
                http.post(
                    "/api/v1/alerts", content="[" + ",".join(base[i : i + args.batch]) + "]"
                ).raise_for_status()
            base_s = time.perf_counter() - t0
        results["baseline_direct_http_alerts_per_s"] = round(args.alerts / base_s, 1)

        relay = Relay(RelayConfig(work / "relay.db", cloud.url, TOKEN, mqtt_port=mport, batch_size=args.batch,
                                  backoff_cap_s=2.0))  # fmt: skip
        relay.start()
        assert relay.connected.wait(10)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-drone", protocol=mqtt.MQTTv5)
        pub.max_inflight_messages_set(100)
        pub.connect("127.0.0.1", mport)
        pub.loop_start()
        topic = topics.drone_topic("bench", topics.ALERTS)
        start_count = cloud.count()

        payloads = alerts(args.alerts, "relay")
        t0 = time.perf_counter()
        infos = [pub.publish(topic, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(60)
        t_pub = time.perf_counter() - t0
        ok = wait_until(lambda: cloud.count() - start_count >= args.alerts, 300, poll=0.2)
        t_all = time.perf_counter() - t0
        results["relay_end_to_end_alerts_per_s"] = round(args.alerts / t_all, 1) if ok else None
        results["publish_alerts_per_s"] = round(args.alerts / t_pub, 1)
        results["relay_vs_baseline"] = (
            round(results["relay_end_to_end_alerts_per_s"] / results["baseline_direct_http_alerts_per_s"], 3)
            if ok
            else None
        )

        # Recovery: cloud down for --outage seconds while the drone keeps publishing.
        cloud.stop()
        n_out = max(200, args.alerts // 3)
        t_down = time.perf_counter()
        for p in alerts(n_out, "outage"):
            pub.publish(topic, p, qos=1)
        wait_until(lambda: relay.outbox.backlog().count >= n_out, 60, poll=0.1)
        time.sleep(max(0.0, args.outage - (time.perf_counter() - t_down)))
        backlog = relay.outbox.backlog().count
        cloud.start()
        t_up = time.perf_counter()
        drained = wait_until(lambda: relay.outbox.backlog().count == 0, 300, poll=0.05)
        results["outage"] = {
            "seconds_down": round(t_up - t_down, 2),
            "backlog_at_recovery": backlog,
            "drain_seconds_after_cloud_up": round(time.perf_counter() - t_up, 2) if drained else None,
            "retry_backoff_cap_s": 2.0,
            "stored_exactly_once": cloud.count() == start_count + args.alerts + n_out,
        }
        pub.loop_stop()
        relay.stop()
    finally:
        cloud.stop()
        broker.terminate()
    report = {
        "benchmark": "relay",
        "alerts": args.alerts,
        "batch": args.batch,
        "thumbnail_bytes": 8000,
        "results": results,
        "machine": machine_info(**versions("paho-mqtt", "httpx", "fastapi", "uvicorn")),
    }
    t = Table(title="relay: broker -> cloud")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for k, v in results.items():
        t.add_row(k, json.dumps(v))
    console.print(t)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
