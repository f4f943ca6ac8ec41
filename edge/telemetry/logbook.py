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

#: A flight that never climbed this high above home was an arming on the ground (a check, a
#: motor test), not a patrol: it is not logged.
MIN_FLOWN_ALT_M = 2.0


class FlightLog:
    """One :class:`~contract.flightlog.FlightRecorder` a flight; :meth:`feed` gives each landed one."""

    def __init__(self, vehicle: str) -> None:
        self.vehicle = vehicle
        self.recorder = FlightRecorder(vehicle)
        self.logged = 0
        #: Armings that are no flight's record: on the ground, or without a position fix.
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
            if (rec.max_alt_m or 0.0) < MIN_FLOWN_ALT_M:
                raise ValueError(f"armed on the ground: never above {MIN_FLOWN_ALT_M:g} m")
            flight = flight_from_feature(rec.feature(), name)
        except (ValidationError, ValueError) as e:
            self.skipped += 1
            log.info("flight not logged", extra={"fields": {"flight_id": name, "why": str(e)[:300]}})
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
