"""The drone's own flight logbook: every flight it makes, from arming to disarming, as a record.

A ground station logs a flight only while an operator follows it (``gcs mission watch``); a drone
patrolling with nobody watching would leave no record of the stretches it flew. The agent hears
its autopilot throughout, so it keeps the record itself and sends it, at landing, through the
same outbox as its alerts (``edge.mqtt_link``): a link outage or a restart after landing loses
nothing. Fed the autopilot's messages with the time they came; no I/O of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from contract.flightlog import FlightRecorder, flight_from_feature, flight_id, record
from contract.messages import Flight

log = logging.getLogger(__name__)


class FlightLog:
    """One :class:`~contract.flightlog.FlightRecorder` a flight; :meth:`feed` gives each landed one."""

    def __init__(self, vehicle: str) -> None:
        self.vehicle = vehicle
        self.recorder = FlightRecorder(vehicle)
        self.logged = 0
        #: Flights that cannot be a record (armed and disarmed without a position fix in between).
        self.skipped = 0

    def feed(self, msg: Any, t: float) -> Flight | None:
        """Digest one of the autopilot's messages (received at UTC ``t``); the flight it ended, if any."""
        rec = self.recorder
        record(rec, msg, t)
        if rec.disarmed_at is None:
            return None
        self.recorder = FlightRecorder(self.vehicle, mission_count=rec.mission_count)
        self.recorder.battery(rec.battery_end_pct)
        assert rec.armed_at is not None
        name = flight_id(self.vehicle, rec.armed_at)
        try:
            flight = flight_from_feature(rec.feature(), name)
        except (ValidationError, ValueError) as e:
            self.skipped += 1
            log.warning("flight not logged", extra={"fields": {"flight_id": name, "why": str(e)[:300]}})
            return None
        self.logged += 1
        log.info(
            "flight logged",
            extra={
                "fields": {
                    "flight_id": name,
                    "points": len(flight.track),
                    "km": round(flight.distance_m / 1e3, 2),
                }
            },
        )
        return flight
