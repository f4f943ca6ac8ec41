"""The ground station following the demo's flight as ``gcs mission watch`` does: its own MAVLink
connection, the patrol progress kept for a resume, and the flight logbook entry at landing."""

from __future__ import annotations

import threading
from pathlib import Path

from contract.flightlog import FlightRecorder
from ground_station.mavlink import VehicleClient
from ground_station.missions.flight import begin_progress, follow
from ground_station.missions.logbook import write_flight
from ground_station.missions.resume import state_path


class FlightFollower:
    """Start before arming (the flight is logged from take-off); :meth:`stop` after landing."""

    def __init__(self, mavlink_url: str, data_dir: Path, vehicle: str) -> None:
        self.url, self.data_dir, self.vehicle = mavlink_url, Path(data_dir), vehicle
        self.recorder: FlightRecorder | None = None
        self.logged: Path | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: VehicleClient | None = None

    def start(self) -> FlightFollower:
        self._client = VehicleClient.connect(self.url, heartbeat_timeout=15.0, timeout=2.0)
        state = state_path(self.data_dir, self.vehicle)
        progress = begin_progress(self._client, state, self.vehicle)
        self.recorder = FlightRecorder(self.vehicle, mission_count=progress.count)
        args = (self._client, state, progress, self._stop, lambda _p: None, self.recorder)
        self._thread = threading.Thread(target=follow, args=args, name="demo-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Path | None:
        """Stop following; the logbook file of a flight that landed (None for one still flying)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(5)
            self._thread = None
            assert self.recorder is not None
            if self.recorder.disarmed_at is not None:
                self.logged = write_flight(self.data_dir, self.recorder)
        if self._client is not None:
            self._client.close()
            self._client = None
        return self.logged
