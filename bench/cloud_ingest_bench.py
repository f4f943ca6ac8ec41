"""Cloud ingest throughput and latency, server in its own process, client over real HTTP.

Measures, on SQLite and PostgreSQL:
  * batched ingest (``--batch`` alerts per POST) in alerts/s,
  * one alert per POST in alerts/s,
  * latency of single-alert POSTs paced at ``--rate`` alerts/s (p50/p99),
with same-run baselines: raw sqlite-utils ``insert_all`` of the same rows and the store's own
``ingest`` in-process (no HTTP, no JSON), so ratios say where time goes.
Every alert carries a unique ~8-12 KB JPEG thumbnail (base64). Targets: >= 5,000 alerts/s
batched on SQLite, p99 <= 20 ms at 200 alerts/s.

    python bench/cloud_ingest_bench.py [--alerts 20000] [--batch 500] [--quick]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(ROOT))
from bench.machine import machine_info  # noqa: E402

OUT = ROOT / "bench" / "results" / "cloud_ingest.json"
TOKEN = "bench-" + secrets.token_hex(8)
PG_ADMIN = os.environ.get("RIVERPATROL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_jpegs(n: int = 64) -> list[bytes]:
    """Textured JPEG crops of 8-12 KB (noise on a gradient, quality tuned per image)."""
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        img = np.clip(rng.normal(120, 40, (72, 72, 3)) + np.linspace(0, 60, 72)[None, :, None], 0, 255)
        for q in (90, 80, 70, 60, 50, 40, 30):
            data = cv2.imencode(".jpg", img.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes()
            if len(data) <= 12_000:
                break
        out.append(data)
    return out


def unique_jpeg(base: bytes, tag: bytes) -> bytes:
    """``base`` with a JPEG comment segment (FFFE) so every alert's thumbnail hashes differently."""
    com = b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag
    return base[:2] + com + base[2:]


def make_alerts(n: int, seed: int) -> list[dict[str, Any]]:
    jpegs = base_jpegs()
    t0 = datetime(2026, 5, 1, 8, tzinfo=UTC)
    pos = np.random.default_rng(seed).random((n, 2))  # uniform: merges within 5 m stay rare (~1%)
    out = []
    for i in range(n):
        aid = uuid.UUID(int=(seed << 64) | i)
        lat, lon = 22.50 + pos[i, 0] * 0.06, 114.00 + pos[i, 1] * 0.10  # Futian, ~10 x 6.6 km
        at = t0 + timedelta(milliseconds=i)
        out.append(
            {
                "schema_version": 1,
                "alert_id": str(aid),
                "revision": 0,
                "event": "new",
                "drone_id": "d1",
                "mission_id": "bench",
                "captured_at": at.isoformat(),
                "published_at": at.isoformat(),
                "lat": lat,
                "lon": lon,
                "uncertainty_m": 2.0,
                "debris_class": "bottle",
                "confidence": 0.8,
                "track": {
                    "sightings": 3,
                    "passes": 1,
                    "first_seen": at.isoformat(),
                    "last_seen": at.isoformat(),
                    "top_score": 0.8,
                    "median_score": 0.7,
                },
                "thumbnail_jpeg": base64.b64encode(unique_jpeg(jpegs[i % len(jpegs)], aid.bytes)).decode(),
            }
        )
    return out


class ServerProcess:
    """``riverpatrol cloud serve`` in a child process."""

    def __init__(self, db_url: str, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.log = log_path.open("wb")
        env = {
            **os.environ,
            "RIVERPATROL_CLOUD_STATION_TOKENS": json.dumps({"bench": TOKEN}),
            "RIVERPATROL_CLOUD_LOG_LEVEL": "WARNING",
        }
        env.pop("RIVERPATROL_CONFIG", None)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from riverpatrol.cli import main; main()",
                "cloud",
                "serve",
                "--db",
                db_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.log_path.read_text(errors="replace")
                raise RuntimeError(f"server did not start: {err[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def bodies(alerts: list[dict[str, Any]], size: int) -> list[bytes]:
    return [json.dumps(alerts[i : i + size]).encode() for i in range(0, len(alerts), size)]


def post_all(
    url: str, headers: dict[str, str], payloads: list[bytes], expect: int, clients: int = 1
) -> float:
    """Seconds to post every payload over ``clients`` parallel connections; checks all were accepted."""
    accepted = [0] * clients
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            with httpx.Client(base_url=url, headers=headers, timeout=120) as c:
                for p in payloads[k::clients]:
                    r = c.post("/api/v1/alerts", content=p)
                    r.raise_for_status()
                    accepted[k] += r.json()["accepted"]
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    if errors:
        raise errors[0]
    if sum(accepted) != expect:
        raise RuntimeError(f"accepted {sum(accepted)} of {expect}")
    return dt


def paced(client: httpx.Client, payloads: list[bytes], rate: float) -> list[float]:
    """Latency (s) of each single-alert POST sent on a fixed schedule of ``rate`` per second."""
    lat = []
    start = time.perf_counter()
    for i, p in enumerate(payloads):
        due = start + i / rate
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        t = time.perf_counter()
        r = client.post("/api/v1/alerts", content=p)
        lat.append(time.perf_counter() - t)
        r.raise_for_status()
    return lat


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs), q))


def run_engine(name: str, db_url: str, args: argparse.Namespace, seed: int, log_dir: Path) -> dict[str, Any]:
    res: dict[str, Any] = {"engine": name}
    srv = ServerProcess(db_url, log_dir / f"server-{name}.log")
    try:
        headers = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
        with httpx.Client(base_url=srv.url, headers=headers, timeout=120) as c:
            warm = make_alerts(200, seed * 10 + 1)
            post_all(srv.url, headers, bodies(warm, 100), 200)
            batch_alerts = make_alerts(args.alerts, seed * 10 + 2)
            payloads = bodies(batch_alerts, args.batch)
            mb = sum(map(len, payloads)) / 1e6
            dt = post_all(srv.url, headers, payloads, len(batch_alerts), args.clients)
            res["batched"] = {
                "alerts": len(batch_alerts),
                "batch": args.batch,
                "clients": args.clients,
                "seconds": dt,
                "alerts_per_s": len(batch_alerts) / dt,
                "mb_per_s": mb / dt,
            }
            again = post_all(srv.url, headers, payloads, 0, args.clients)
            res["batched_duplicates"] = {
                "alerts": len(batch_alerts),
                "seconds": again,
                "alerts_per_s": len(batch_alerts) / again,
            }
            singles = make_alerts(args.singles, seed * 10 + 3)
            dt = post_all(srv.url, headers, bodies(singles, 1), len(singles), args.clients)
            res["single"] = {
                "alerts": len(singles),
                "clients": args.clients,
                "seconds": dt,
                "alerts_per_s": len(singles) / dt,
            }
            pace = make_alerts(int(args.rate * args.paced_seconds), seed * 10 + 4)
            lat = paced(c, bodies(pace, 1), args.rate)
            res["paced"] = {
                "rate": args.rate,
                "alerts": len(pace),
                "p50_ms": pct(lat, 50) * 1000,
                "p99_ms": pct(lat, 99) * 1000,
                "max_ms": max(lat) * 1000,
                "mean_ms": statistics.fmean(lat) * 1000,
            }
    finally:
        srv.stop()
    return res


def baselines(n: int, tmp: Path) -> dict[str, Any]:
    """Same rows without HTTP: raw sqlite-utils insert_all, and the store's own ingest in-process."""
    import sqlite_utils

    from cloud.storage import IngestPolicy, open_store
    from cloud.storage.items import ITEM_COLUMNS, prepare
    from contract.messages import Alert

    alerts = make_alerts(n, 99)
    models = [Alert.model_validate(a) for a in alerts]
    prepared = [prepare(m, "bench", time.time(), f"alerts[{i}]", 1 << 20) for i, m in enumerate(models)]
    rows = [{**{c: p.row.get(c) for c in ITEM_COLUMNS}, "workorder_id": p.row["alert_id"]} for p in prepared]
    db = sqlite_utils.Database(tmp / "raw.db")
    db.enable_wal()
    t0 = time.perf_counter()
    with db.conn:
        db["thumbnails"].insert_all(
            ({"sha256": p.thumbnail[0], "data": p.thumbnail[1]} for p in prepared),
            pk="sha256",
            batch_size=500,
        )
        db["items"].insert_all(rows, pk="alert_id", batch_size=500)
    raw = time.perf_counter() - t0
    store = open_store(f"sqlite:///{tmp / 'store.db'}")
    t0 = time.perf_counter()
    for i in range(0, n, 500):
        store.ingest(prepared[i : i + 500], IngestPolicy(), time.time())
    inproc = time.perf_counter() - t0
    store.close()
    t0 = time.perf_counter()
    from cloud.api.validation import parse_batch

    for b in bodies(alerts, 500):
        parse_batch(b, 10_000)
    validate = time.perf_counter() - t0
    return {
        "alerts": n,
        "raw_sqlite_utils_insert_alerts_per_s": n / raw,
        "store_ingest_in_process_alerts_per_s": n / inproc,
        "json_validation_only_alerts_per_s": n / validate,
    }


def machine() -> dict[str, Any]:
    info = machine_info(sqlite=sqlite3.sqlite_version)
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN) as c:
            info["postgresql"] = c.execute("SHOW server_version").fetchone()[0]
    except Exception as e:  # report, do not fail the SQLite half
        info["postgresql"] = f"unavailable: {e}"
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=20_000, help="Alerts for the batched run.")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--clients", type=int, default=2, help="Parallel connections (ground stations).")
    ap.add_argument("--singles", type=int, default=2_000, help="Alerts for the one-per-request run.")
    ap.add_argument("--rate", type=float, default=200.0, help="Paced single-alert rate (alerts/s).")
    ap.add_argument("--paced-seconds", type=float, default=10.0)
    ap.add_argument("--engines", default="sqlite,postgresql")
    ap.add_argument("--quick", action="store_true", help="Small run to check the bench works.")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if args.quick:
        args.alerts, args.singles, args.paced_seconds = 2000, 200, 2.0
    result: dict[str, Any] = {
        "bench": "cloud_ingest",
        "time": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "params": {k: str(v) for k, v in vars(args).items()},
        "targets": {"batched_sqlite_alerts_per_s": 5000, "paced_p99_ms": 20},
        "engines": [],
    }
    with tempfile.TemporaryDirectory(prefix="rp-bench-") as d:
        tmp = Path(d)
        with console.status("baselines (no HTTP)..."):
            result["baseline"] = baselines(min(args.alerts, 10_000), tmp)
        for i, engine in enumerate(args.engines.split(",")):
            if engine == "sqlite":
                with console.status("SQLite over HTTP..."):
                    result["engines"].append(
                        run_engine("sqlite", f"sqlite:///{tmp / 'srv.db'}", args, i + 1, tmp)
                    )
            elif engine == "postgresql":
                import psycopg

                name = f"rp_bench_{secrets.token_hex(4)}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f"CREATE DATABASE {name}")
                try:
                    with console.status("PostgreSQL over HTTP..."):
                        result["engines"].append(
                            run_engine(
                                "postgresql", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args, i + 1, tmp
                            )
                        )
                finally:
                    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    sq = next((e for e in result["engines"] if e["engine"] == "sqlite"), None)
    if sq:
        result["verdict"] = {
            "batched_sqlite_target_met": sq["batched"]["alerts_per_s"] >= 5000,
            "paced_p99_target_met": sq["paced"]["p99_ms"] <= 20,
            "batched_vs_raw_sqlite_utils": sq["batched"]["alerts_per_s"]
            / result["baseline"]["raw_sqlite_utils_insert_alerts_per_s"],
        }
    table = Table(title="Cloud ingest (unique ~10 KB JPEG thumbnail per alert)")
    for col in (
        "engine",
        "batched alerts/s",
        "dupes alerts/s",
        "single alerts/s",
        "p50 ms @rate",
        "p99 ms @rate",
    ):
        table.add_column(col, justify="right", no_wrap=True)
    for e in result["engines"]:
        table.add_row(
            e["engine"],
            f"{e['batched']['alerts_per_s']:,.0f}",
            f"{e['batched_duplicates']['alerts_per_s']:,.0f}",
            f"{e['single']['alerts_per_s']:,.0f}",
            f"{e['paced']['p50_ms']:.1f}",
            f"{e['paced']['p99_ms']:.1f}",
        )
    b = result["baseline"]
    table.add_row(
        "baseline: raw sqlite-utils", f"{b['raw_sqlite_utils_insert_alerts_per_s']:,.0f}", "", "", "", ""
    )
    table.add_row(
        "baseline: store.ingest", f"{b['store_ingest_in_process_alerts_per_s']:,.0f}", "", "", "", ""
    )
    table.add_row(
        "baseline: JSON validation", f"{b['json_validation_only_alerts_per_s']:,.0f}", "", "", "", ""
    )
    console.print(table)
    if "verdict" in result:
        console.print(result["verdict"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
