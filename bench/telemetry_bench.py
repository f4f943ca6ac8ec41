"""Telemetry decode throughput: pymavlink's bare parser vs parser + our StateTracker.

Records a realistic MAVLink 2 byte stream of an ArduPilot Copter flight (HEARTBEAT 1 Hz,
GLOBAL_POSITION_INT and ATTITUDE at ``--pose-hz``, VFR_HUD 4 Hz, SYS_STATUS 2 Hz, GPS_RAW_INT
5 Hz, BATTERY_STATUS 2 Hz, MISSION_CURRENT 1 Hz, SYSTEM_TIME 1 Hz, a STATUSTEXT now and then),
then, pinned to one core, measures in messages/s:
  (a) baseline: ``MAVLink.parse_buffer`` over the bytes in socket-sized chunks,
  (b) the same parse plus ``StateTracker.digest`` (and its pose-history appends) per message,
  (c) (b) plus the drone's own flight logbook (``edge.telemetry.logbook``), its checkpoint
      written to a temporary file every 10 s of flight, as the agent runs it,
and reports (b)/(a), the share of decode capacity our state keeping leaves, and (c)/(b), what
the flight log costs. One drone at 25 Hz poses sends about 70 messages/s, so each figure is a
headroom factor over that.

    python bench/telemetry_bench.py [--seconds 120] [--pose-hz 25] [--repeats 5]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymavlink.dialects.v20 import ardupilotmega as mav  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import contract.mavlink  # noqa: E402, F401  (MAVLINK20 + ardupilotmega before pymavlink)
from bench.machine import machine_info  # noqa: E402
from edge.telemetry.logbook import FlightLog  # noqa: E402
from edge.telemetry.pose import PoseHistory  # noqa: E402
from edge.telemetry.state import StateTracker  # noqa: E402

OUT = ROOT / "bench" / "results" / "telemetry.json"
console = Console()


def schedule(pose_hz: float) -> dict[str, float]:
    """Message name -> rate in Hz, like ArduPilot streaming to a companion computer."""
    return {
        "HEARTBEAT": 1.0,
        "GLOBAL_POSITION_INT": pose_hz,
        "ATTITUDE": pose_hz,
        "VFR_HUD": 4.0,
        "SYS_STATUS": 2.0,
        "GPS_RAW_INT": 5.0,
        "BATTERY_STATUS": 2.0,
        "MISSION_CURRENT": 1.0,
        "SYSTEM_TIME": 1.0,
        "STATUSTEXT": 0.1,
    }


def encode(enc: mav.MAVLink, name: str, t: float) -> mav.MAVLink_message:
    """Message ``name`` at flight time ``t``: the vehicle flies a 150 m circle over the river."""
    ms = int(t * 1000) + 5_000
    ang = t / 30.0
    lat = 22.5205 + 150.0 * math.sin(ang) / 111_320.0
    lon = 114.0632 + 150.0 * math.cos(ang) / (111_320.0 * math.cos(math.radians(22.5205)))
    lat_e7, lon_e7 = round(lat * 1e7), round(lon * 1e7)
    yaw = math.atan2(math.cos(ang), -math.sin(ang))
    hdg = math.degrees(yaw) % 360
    seq = int(t / 20) % 12
    if name == "HEARTBEAT":
        return enc.heartbeat_encode(2, 3, 217, 3, 4)
    if name == "GLOBAL_POSITION_INT":
        return enc.global_position_int_encode(
            ms, lat_e7, lon_e7, 35_000, 30_000, 350, -350, -10, round(hdg * 100)
        )
    if name == "ATTITUDE":
        return enc.attitude_encode(ms, 0.03 * math.sin(t), 0.05, yaw, 0.01, 0.0, 0.16)
    if name == "VFR_HUD":
        return enc.vfr_hud_encode(5.1, 5.0, round(hdg), 38, 35.0, 0.1)
    if name == "SYS_STATUS":
        sensors = 0x1020_002F
        return enc.sys_status_encode(
            sensors, sensors, sensors, 420, 15_600 - int(t), 1250, 80, 0, 0, 0, 0, 0, 0
        )
    if name == "GPS_RAW_INT":
        return enc.gps_raw_int_encode(ms * 1000, 3, lat_e7, lon_e7, 35_000, 80, 120, 500, 9000, 16)
    if name == "BATTERY_STATUS":
        return enc.battery_status_encode(0, 0, 0, 2800, [15_600 - int(t)] + [65535] * 9, 1250, -1, -1, 80)
    if name == "MISSION_CURRENT":
        return enc.mission_current_encode(seq, 12)
    if name == "SYSTEM_TIME":
        return enc.system_time_encode(int(1.7e15 + t * 1e6), ms)
    if name == "STATUSTEXT":
        return enc.statustext_encode(6, f"Mission: {seq} WP".encode())
    raise ValueError(f"no encoder for {name}")


def record(seconds: float, pose_hz: float) -> tuple[bytes, Counter[str]]:
    """The byte stream of ``seconds`` of flight, messages interleaved by their send times."""
    enc = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    rates = schedule(pose_hz)
    order = {name: i for i, name in enumerate(rates)}  # HEARTBEAT first at equal times
    events = sorted(
        ((i / hz, order[name], name) for name, hz in rates.items() for i in range(math.ceil(seconds * hz)))
    )
    out = bytearray()
    counts: Counter[str] = Counter()
    for t, _, name in events:
        out += encode(enc, name, t).pack(enc)
        counts[name] += 1
    return bytes(out), counts


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def bare_parse(parts: list[bytes]) -> int:
    """Baseline: pymavlink's parser alone, as a read loop would call it."""
    parser = mav.MAVLink(None)
    parser.robust_parsing = True
    n = 0
    for part in parts:
        n += len(parser.parse_buffer(part) or ())
    return n


def parse_and_track(parts: list[bytes]) -> int:
    """Parser plus our state tracker and pose history, as ``TelemetryLink`` runs them."""
    parser = mav.MAVLink(None)
    parser.robust_parsing = True
    tracker = StateTracker(PoseHistory(span_s=30.0))
    digest = tracker.digest
    n = 0
    clock = time.monotonic
    for part in parts:
        now = clock()
        for msg in parser.parse_buffer(part) or ():
            digest(msg, now)
            n += 1
    if tracker.state.lat is None or tracker.state.counters.accepted != n:
        raise RuntimeError("tracker did not digest the stream: the benchmark would measure nothing")
    return n


def parse_track_and_log(parts: list[bytes]) -> int:
    """(b) plus the flight logbook fed each accepted message at the vehicle's UTC, checkpointing."""
    parser = mav.MAVLink(None)
    parser.robust_parsing = True
    tracker = StateTracker(PoseHistory(span_s=30.0))
    with tempfile.TemporaryDirectory() as tmp:
        flights = FlightLog("bench", Path(tmp) / "flight.json", checkpoint_s=10.0)
        digest, feed, s = tracker.digest, flights.feed, tracker.state
        n = 0
        clock = time.monotonic
        for part in parts:
            now = clock()
            for msg in parser.parse_buffer(part) or ():
                digest(msg, now)
                utc = s.utc_at(s.time_boot_s) if s.time_boot_s is not None else None
                feed(msg, utc if utc is not None else 0.0)
                n += 1
        if not flights.recorder.flying or len(flights.recorder.track) < 10:
            raise RuntimeError("the flight log recorded nothing: the benchmark would measure nothing")
    return n


def timed(fn: Any, parts: list[bytes]) -> tuple[int, float]:
    """Messages handled and CPU seconds spent: CPU time, because the machine may be shared."""
    t0 = time.process_time()
    n = fn(parts)
    return n, time.process_time() - t0


def machine() -> dict[str, Any]:
    try:
        import pymavlink.mavnative  # type: ignore[import-not-found]  # noqa: F401

        native = "mavnative C extension importable (not used by MAVLink(use_native=False))"
    except ImportError:
        native = "pure-Python parser (pymavlink.mavnative not available)"
    return machine_info(
        pymavlink=importlib.metadata.version("pymavlink"),
        pymavlink_parser=native,
        wire_protocol=mav.WIRE_PROTOCOL_VERSION,
    )


def pin_one_core() -> int | None:
    """Run on one core so the figure is per-core; returns it (None where not supported)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return core


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=120.0, help="simulated flight seconds to record")
    ap.add_argument("--pose-hz", type=float, default=25.0, help="GLOBAL_POSITION_INT/ATTITUDE rate")
    ap.add_argument("--chunk", type=int, default=4096, help="bytes per read (socket recv size)")
    ap.add_argument("--repeats", type=int, default=9, help="alternating runs of each; best and median kept")
    ap.add_argument("--out", type=Path, default=OUT, help="JSON result file")
    args = ap.parse_args(argv)

    core = pin_one_core()
    data, counts = record(args.seconds, args.pose_hz)
    parts = chunks(data, args.chunk)
    total = sum(counts.values())
    console.print(
        f"recorded {total} messages, {len(data)} bytes ({total / args.seconds:.0f} msg/s of flight); "
        f"pinned to core {core}"
    )
    runs: dict[str, list[float]] = {"bare_parse": [], "parse_and_track": [], "parse_track_and_log": []}
    bare_parse(parts[: max(1, len(parts) // 10)])  # warm-up
    variants = (("bare_parse", bare_parse), ("parse_and_track", parse_and_track),
                ("parse_track_and_log", parse_track_and_log))  # fmt: skip
    for _ in range(args.repeats):
        for name, fn in variants:
            n, dt = timed(fn, parts)
            if n != total:
                raise RuntimeError(f"{name} decoded {n} of {total} messages")
            runs[name].append(n / dt)
    bare, tracked = max(runs["bare_parse"]), max(runs["parse_and_track"])
    logged = max(runs["parse_track_and_log"])
    per_msg_us = (1 / tracked - 1 / bare) * 1e6
    log_us = (1 / logged - 1 / tracked) * 1e6
    result = {
        "benchmark": "telemetry_decode",
        "unit": "messages per CPU-second on one core (best of repeats; medians alongside)",
        "bare_parse_msgs_per_s": round(bare),
        "parse_and_track_msgs_per_s": round(tracked),
        "bare_parse_median_msgs_per_s": round(statistics.median(runs["bare_parse"])),
        "parse_and_track_median_msgs_per_s": round(statistics.median(runs["parse_and_track"])),
        "ratio_to_bare_parse": round(tracked / bare, 3),
        "tracker_cost_us_per_msg": round(per_msg_us, 2),
        "parse_track_and_log_msgs_per_s": round(logged),
        "parse_track_and_log_median_msgs_per_s": round(statistics.median(runs["parse_track_and_log"])),
        "ratio_log_to_track": round(logged / tracked, 3),
        "flight_log_cost_us_per_msg": round(log_us, 2),
        "headroom_x_one_drone": round(tracked / (total / args.seconds), 1),
        "runs": {k: [round(v) for v in vs] for k, vs in runs.items()},
        "stream": {
            "seconds": args.seconds,
            "pose_hz": args.pose_hz,
            "messages": total,
            "bytes": len(data),
            "chunk_bytes": args.chunk,
            "mix": dict(counts),
        },
        "pinned_core": core,
        "machine": machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    table = Table(title="MAVLink telemetry decode, one core")
    for col in ("path", "messages per CPU-s", "vs bare parse"):
        table.add_column(col, justify="right" if col != "path" else "left")
    table.add_row("pymavlink parse_buffer (baseline)", f"{bare:,.0f}", "1.00")
    table.add_row("parse + StateTracker + pose history", f"{tracked:,.0f}", f"{tracked / bare:.2f}")
    table.add_row("... + the flight logbook, checkpointing", f"{logged:,.0f}", f"{logged / bare:.2f}")
    console.print(table)
    console.print(
        f"tracker adds {per_msg_us:.1f} µs/message, the flight log {log_us:.1f} µs more"
        f" ({logged / tracked:.3f} of the tracker's rate); headroom {result['headroom_x_one_drone']}x over "
        f"one drone's "
        f"{total / args.seconds:.0f} msg/s. Parser: {result['machine']['pymavlink_parser']}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
