"""Prometheus metrics of the telemetry link, read from its state at scrape time.

A collector (rather than module-level counters) so several links can live in one process,
as they do in tests, and the hot read loop does not pay for metric updates.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from edge.telemetry.link import TelemetryLink

_PREFIX = "riverpatrol_edge_mavlink"


class TelemetryCollector(Collector):
    """Exposes a ``TelemetryLink``'s counters and link health."""

    def __init__(self, link: TelemetryLink) -> None:
        self.link = link

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        s = self.link.snapshot()
        c = s.counters
        by_type = CounterMetricFamily(
            f"{_PREFIX}_messages", "Messages digested from the autopilot", labels=["type"]
        )
        for mtype, n in sorted(c.by_type.items()):
            by_type.add_metric([mtype], n)
        yield by_type
        for name, value, doc in (
            ("received", c.messages, "Everything pymavlink decoded, bad data included"),
            ("foreign", c.foreign, "Messages from other systems/components, ignored"),
            ("bad_data", c.bad_data, "pymavlink BAD_DATA frames (bad prefix, CRC, length)"),
            ("bad_bytes", c.bad_bytes, "Bytes inside BAD_DATA frames"),
            ("crc_errors", c.crc_errors, "Frames that failed their CRC"),
            ("unknown", c.unknown, "Frames of message ids the dialect does not know"),
            ("malformed", c.malformed, "Decodable messages with impossible values"),
            ("reboots", c.reboots, "Vehicle reboots seen (time_boot_ms went backwards)"),
            ("link_losses", s.link_losses, "Times the link went silent past link_timeout"),
            ("stream_requests", s.stream_requests, "Stream request rounds sent"),
        ):
            yield CounterMetricFamily(f"{_PREFIX}_{name}", doc, value=value)
        yield GaugeMetricFamily(f"{_PREFIX}_link_up", "1 when the autopilot is heard", value=float(s.link_up))
        silent = -1.0 if s.last_heard is None else time.monotonic() - s.last_heard
        yield GaugeMetricFamily(f"{_PREFIX}_last_heard_seconds", "Seconds since last heard", value=silent)
        yield GaugeMetricFamily(f"{_PREFIX}_message_rate_hz", "Messages per second", value=s.message_rate_hz)


def registry_for(link: TelemetryLink) -> CollectorRegistry:
    """A fresh registry exposing ``link`` (serve it with ``prometheus_client.start_http_server``)."""
    registry = CollectorRegistry()
    registry.register(TelemetryCollector(link))
    return registry
