"""The drone's own flight logbook: every flight it makes, from arming to disarming, as a record.

A ground station logs a flight only while an operator follows it (``gcs mission watch``); a drone
patrolling with nobody watching would leave no record of the stretches it flew. The agent hears
its autopilot throughout, so it keeps the record itself and sends it, at landing, through the
same outbox as its alerts (``edge.mqtt_link``): a link outage or a restart after landing loses
nothing. The flight in the air is checkpointed to a file every ``checkpoint_s``: an agent
restarted in flight (``kill -9``, a brown-out of the companion computer) goes on with the same
record, and one that comes back after the landing ends it where it was last heard. Times are the
vehicle's GPS time where it gives it (the link's choice). Only the link thread calls it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contract.files import write_atomic
from contract.flightlog import FlightRecorder, flight_from_feature, flight_id, record
from contract.mavlink import ARMED_FLAG
from contract.messages import Flight

log = logging.getLogger(__name__)

#: A flight that never climbed this high above home was an arming on the ground (a check, a
#: motor test), not a patrol: it is not logged.
MIN_FLOWN_ALT_M = 2.0
#: Said in the record of a flight whose landing the agent did not hear (it was down).
NOT_HEARD_LANDING = "RiverPatrol: the edge agent restarted in flight and did not hear the landing"


def recorder_from_dict(data: dict[str, Any]) -> FlightRecorder:
    """The recorder ``dataclasses.asdict`` gave (private fields too: it goes on where it stopped);
    ``TypeError``/``ValueError`` when it is not one."""
    tuples = ("track", "warnings", "modes")
    fields: dict[str, Any] = {k: [tuple(x) for x in v] if k in tuples else v for k, v in data.items()}
    fields["_last"] = tuple(data["_last"]) if data.get("_last") else None
    return FlightRecorder(**fields)


class FlightLog:
    """One :class:`~contract.flightlog.FlightRecorder` a flight; :meth:`feed` gives each landed one."""

    def __init__(self, vehicle: str, checkpoint: Path | None = None, checkpoint_s: float = 10.0) -> None:
        self.vehicle = vehicle
        self.checkpoint = checkpoint
        self.checkpoint_s = checkpoint_s
        self.recorder = FlightRecorder(vehicle)
        self.logged = 0
        #: Armings that are no flight's record: on the ground, or without a position fix.
        self.skipped = 0
        self._saved_at: float | None = None  # the recorder's time the checkpoint was written at
        self._resumed = False  # a checkpoint was read: the first heartbeat says whether it still flies
        self._restore()

    def _restore(self) -> None:
        if self.checkpoint is None or not self.checkpoint.exists():
            return
        try:
            saved = json.loads(self.checkpoint.read_text())
            rec, at = recorder_from_dict(saved["recorder"]), float(saved["at"])
        except (OSError, ValueError, TypeError, KeyError) as e:  # torn or foreign: the flight starts anew
            log.warning(
                "flight checkpoint unreadable",
                extra={"fields": {"file": str(self.checkpoint), "why": str(e)}},
            )
            return
        if rec.vehicle != self.vehicle or not rec.flying:
            return
        self.recorder, self._saved_at, self._resumed = rec, at, True
        log.info("flight checkpoint read: the flight goes on", extra={"fields": {"armed_at": rec.armed_at}})

    def feed(self, msg: Any, t: float) -> Flight | None:
        """Digest one of the autopilot's messages (received at UTC ``t``); the flight it ended, if any."""
        rec = self.recorder
        if self._resumed and msg.get_type() == "HEARTBEAT":
            self._resumed = False
            if not msg.base_mode & ARMED_FLAG and self._saved_at is not None:  # landed while we were down
                rec.warning(self._saved_at, NOT_HEARD_LANDING)
                rec.armed(self._saved_at, False)
        record(rec, msg, t)
        if rec.flying and (self._saved_at is None or t - self._saved_at >= self.checkpoint_s):
            self._save(t)
        if rec.disarmed_at is None:
            return None
        self.recorder = FlightRecorder(self.vehicle, mission_count=rec.mission_count)
        self.recorder.battery(rec.battery_end_pct)
        return self._finish(rec)

    def landed_and_queued(self) -> None:
        """The landed flight is in the outbox: its checkpoint may go (the outbox keeps it now)."""
        if self.checkpoint is not None and not self.recorder.flying:
            self.checkpoint.unlink(missing_ok=True)
            self._saved_at = None

    def _save(self, t: float) -> None:
        self._saved_at = t
        if self.checkpoint is None:
            return
        try:
            write_atomic(self.checkpoint, json.dumps({"at": t, "recorder": asdict(self.recorder)}))
        except OSError as e:  # a full disk: the flight is still recorded in memory
            log.warning("flight checkpoint not written", extra={"fields": {"why": str(e)}})

    def _skip(self, name: str, why: str, level: int) -> None:
        self.skipped += 1
        log.log(level, "flight not logged", extra={"fields": {"flight_id": name, "why": why}})
        self.landed_and_queued()  # nothing to queue

    def _finish(self, rec: FlightRecorder) -> Flight | None:
        assert rec.armed_at is not None
        name = flight_id(self.vehicle, rec.armed_at)
        if (rec.max_alt_m or 0.0) < MIN_FLOWN_ALT_M:  # a check or a motor test: said, not logged
            self._skip(name, f"armed on the ground: never above {MIN_FLOWN_ALT_M:g} m", logging.INFO)
            return None
        try:
            flight = flight_from_feature(rec.feature(), name)
        except (ValidationError, ValueError) as e:  # a flight that is no record (a bad drone_id...)
            self._skip(name, str(e)[:300], logging.WARNING)
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
