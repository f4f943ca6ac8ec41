"""Watching a running simulator: Prometheus metrics, the one-line status.

Metrics are collected when scraped (a custom collector reads the vehicle's counters and
latest snapshot), so the loop pays nothing for them between scrapes. Each vehicle has its
own registry, so several in one process (tests, the demo) do not collide.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.vehicle.server import SimVehicle


class _Collector:
    def __init__(self, vehicle: SimVehicle) -> None:
        self.v = vehicle

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        v = self.v
        s = v.snapshot()
        counts = dict(v.counts)

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"riverpatrol_sim_vehicle_{name}", doc, value=value)

        yield gauge("sim_time_seconds", "Simulated seconds since boot.", s.t)
        yield gauge("speedup", "Simulated seconds per wall second, achieved.", v.achieved_speedup)
        yield gauge("speedup_target", "Simulated seconds per wall second, asked for.", v.settings.speedup)
        yield gauge("armed", "1 when the motors are armed.", float(s.armed))
        yield gauge("mode", "Copter custom mode number.", s.mode)
        yield gauge("altitude_rel_metres", "True altitude above home.", s.alt_rel)
        yield gauge("groundspeed_mps", "True ground speed.", s.groundspeed)
        yield gauge("battery_volts", "Battery voltage.", s.battery_voltage)
        yield gauge("battery_remaining_ratio", "Battery remaining, 0-1.", s.battery_remaining_pct / 100.0)
        yield gauge("mission_seq", "Current mission item.", s.mission_seq)
        yield gauge(
            "smartrtl_points", "Points on SmartRTL's way home (0: none, SMART_RTL refused).", s.srtl_points
        )
        yield gauge("tcp_clients", "Connected TCP clients.", v.clients())
        yield gauge("blackout", "1 during a telemetry blackout window.", float(v.blackout_active))
        yield gauge(
            "failsafe", "1 while any failsafe is active.", float(s.fs_battery > 0 or s.fs_gcs or s.fs_ekf)
        )
        sent = CounterMetricFamily(
            "riverpatrol_sim_vehicle_messages_sent", "MAVLink messages sent, by type.", labels=["type"]
        )
        recv = CounterMetricFamily(
            "riverpatrol_sim_vehicle_messages_received", "MAVLink messages handled, by type.", labels=["type"]
        )
        dropped = CounterMetricFamily(
            "riverpatrol_sim_vehicle_messages_dropped",
            "Messages dropped by fault injection.",
            labels=["reason"],
        )
        for key, n in counts.items():
            if key.startswith("tx_dropped_") or key.startswith("rx_dropped_"):
                dropped.add_metric([key[3:]], n)
            elif key.startswith("tx_") and key[3:].isupper():
                sent.add_metric([key[3:]], n)
        for key, n in dict(v.core.stats).items():
            if key.startswith("rx_"):
                recv.add_metric([key[3:]], n)
        yield sent
        yield recv
        yield dropped
        yield CounterMetricFamily(
            "riverpatrol_sim_vehicle_bad_packets",
            "Undecodable input (bad CRC, garbage).",
            value=counts.get("rx_bad", 0),
        )
        yield CounterMetricFamily(
            "riverpatrol_sim_vehicle_clock_slips",
            "Times the loop could not keep up and re-anchored its clock.",
            value=counts.get("clock_slips", 0),
        )


class MetricsServer:
    def __init__(self, server: Any, thread: threading.Thread) -> None:
        self.server, self.thread = server, thread

    @property
    def port(self) -> int:
        return self.server.server_port

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_metrics(vehicle: SimVehicle, host: str, port: int) -> MetricsServer:
    """Serve ``/metrics`` for ``vehicle`` on ``host:port`` (0: any free port) in a daemon thread."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(_Collector(vehicle))  # type: ignore[arg-type]
    server, thread = start_http_server(port, addr=host, registry=registry)
    logging.getLogger("riverpatrol.sim.vehicle").info(
        "metrics", extra={"fields": {"url": f"http://{host}:{server.server_port}/metrics"}}
    )
    return MetricsServer(server, thread)


def status_line(v: SimVehicle) -> str:
    """``t=123.4s x20.0 AUTO ARMED alt 20.1m 22.52050,114.06320 gs 9.8 batt 15.9V 87% wp 3/7 clients 2``."""
    s = v.snapshot()
    flags = []
    if s.fs_battery:
        flags.append("FS:BATT")
    if s.fs_gcs:
        flags.append("FS:GCS")
    if s.fs_ekf:
        flags.append("FS:EKF")
    if v.blackout_active:
        flags.append("BLACKOUT")
    if not s.pos_ok:
        flags.append("no-pos")
    return (
        f"t={s.t:7.1f}s x{v.achieved_speedup:5.1f} {s.mode_name:<9} {'ARMED' if s.armed else 'disarmed':<8} "
        f"alt {s.alt_rel:6.1f}m {s.lat:.5f},{s.lon:.5f} gs {s.groundspeed:4.1f} "
        f"batt {s.battery_voltage:5.2f}V {s.battery_remaining_pct:3.0f}% "
        f"wp {s.mission_seq}/{max(0, s.mission_count - 1)} clients {v.clients()}"
        + (" " + " ".join(flags) if flags else "")
    )
