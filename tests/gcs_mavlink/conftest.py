"""Fixtures for the ground-station MAVLink client tests: the edge tests' fake ArduPilot peer."""

from tests.edge_telemetry.conftest import make_peer, mavpeer  # noqa: F401  (fixture and module re-used)
