"""Operator flight sequences on a ``VehicleClient``: verified upload, start, resume, follow.

Each function is a short, ordered list of vehicle calls with the waits between them; the
vehicle's own refusals (``CommandRejected`` with the PreArm text) propagate unchanged so the
operator reads the autopilot's reason, not ours.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from contract.flightlog import FlightRecorder, VehicleClock, record
from contract.mavlink import WARNING_SEVERITY, statustext
from ground_station.mavlink import CommandRejected, MavlinkTimeout, MissionItem, VehicleClient
from ground_station.missions.compare import diff_missions
from ground_station.missions.resume import (
    MAV_CMD_NAV_TAKEOFF,
    ROUTE_COMMANDS,
    PatrolProgress,
    fingerprint,
    load_progress,
    newest,
    progress_kept_elsewhere,
    readable_progress,
    resume_item,
    save_progress,
)

log = logging.getLogger(__name__)

MAV_CMD_SET_MESSAGE_INTERVAL = 511
MSG_GLOBAL_POSITION_INT = 33


class MissionMismatch(Exception):
    """The mission read back differs from the one sent."""

    def __init__(self, differences: list[str]) -> None:
        super().__init__("mission read back differs from the file:\n  " + "\n  ".join(differences))
        self.differences = differences


@dataclass(frozen=True)
class FlightLimits:
    """How long to wait for each stage; from GcsSettings."""

    armable_s: float
    climb_s: float
    climb_fraction: float
    mode_s: float


def upload_verified(
    client: VehicleClient,
    items: list[MissionItem],
    home: tuple[float, float, float] | None,
    progress: Callable[[int, int], None] | None = None,
) -> list[MissionItem]:
    """Upload, download again and compare; ``MissionMismatch`` listing every difference."""
    client.upload_mission(items, home=home, progress=progress)
    back = client.download_mission()
    differences = diff_missions(items, back)
    if differences:
        raise MissionMismatch(differences)
    return back


def takeoff_alt(items: list[MissionItem], start: int, default: float) -> float:
    """Altitude to climb to before AUTO: the mission's take-off item, else the resume waypoint's."""
    for it in items:
        if it.command == MAV_CMD_NAV_TAKEOFF and it.alt > 0:
            return max(it.alt, _item_alt(items, start, 0.0))
    return _item_alt(items, start, default)


def _item_alt(items: list[MissionItem], seq: int, default: float) -> float:
    it = next((i for i in items if i.seq == seq and i.command in ROUTE_COMMANDS), None)
    return it.alt if it is not None and it.alt > 0 else default


def relative_alt_m(client: VehicleClient, timeout: float) -> float | None:
    """Latest GLOBAL_POSITION_INT relative altitude within ``timeout`` s, None if none came."""
    with client._subscription() as q:
        msg = client._wait(q, {"GLOBAL_POSITION_INT"}, timeout)
    return None if msg is None else msg.relative_alt / 1000.0


def get_airborne(
    client: VehicleClient, alt_m: float, limits: FlightLimits, say: Callable[[str], None]
) -> bool:
    """If disarmed: GUIDED, wait until armable, arm, take off and climb; True if it took off.

    An armed vehicle is taken as flying (ArduPilot disarms an idle armed one on the ground).
    """
    if client.armed:
        return False
    client.set_mode("GUIDED")
    say("waiting for the vehicle to be armable (position estimate, pre-arm checks)")
    waited: MavlinkTimeout | None = None
    try:
        client.wait_armable(limits.armable_s)
    except MavlinkTimeout as e:
        waited = e  # ask anyway: the vehicle's own refusal names the failing check
    result = client.arm()
    if not result.accepted:
        why = result.reason or result.result_name
        if waited is not None:
            why += f"; {waited}"
        raise CommandRejected(f"arming refused: {why}", result.result, result.reason)
    deadline = time.monotonic() + limits.mode_s
    while not client.armed:  # the ACK comes before the heartbeat that shows it
        if time.monotonic() > deadline:
            raise MavlinkTimeout(f"arming accepted but the heartbeat shows no armed within {limits.mode_s}s")
        time.sleep(0.02)
    say(f"armed; taking off to {alt_m:g} m")
    client.takeoff(alt_m)
    # position stream for the climb check; harmless if the vehicle already sends it
    client.command(MAV_CMD_SET_MESSAGE_INTERVAL, MSG_GLOBAL_POSITION_INT, 200_000)
    target = alt_m * limits.climb_fraction
    deadline = time.monotonic() + limits.climb_s
    alt = None
    while time.monotonic() < deadline:
        alt = relative_alt_m(client, 1.0)
        if alt is not None and alt >= target:
            return True
        if not client.armed:
            raise CommandRejected("the vehicle disarmed during take-off", -1, _last_text(client))
    raise MavlinkTimeout(
        f"vehicle did not climb to {target:.1f} m within {limits.climb_s}s (last altitude {alt} m)"
    )


def _last_text(client: VehicleClient) -> str | None:
    return client.statustexts[-1][2] if client.statustexts else None


def wait_mode(client: VehicleClient, mode: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while client.mode != mode:
        if time.monotonic() > deadline:
            raise MavlinkTimeout(f"vehicle did not switch to {mode} within {timeout}s (mode {client.mode})")
        time.sleep(0.05)


def start(client: VehicleClient, default_alt: float, limits: FlightLimits, say: Callable[[str], None]) -> int:
    """Fly the uploaded mission from its first item; returns the number of items."""
    items = client.download_mission()
    if not items:
        raise CommandRejected("the vehicle holds no mission: run `mission upload` first", -1)
    first_route = next((i.seq for i in items if i.command in ROUTE_COMMANDS), 1)
    get_airborne(client, takeoff_alt(items, first_route, default_alt), limits, say)
    client.set_current(1)
    client.start_mission()
    wait_mode(client, "AUTO", limits.mode_s)
    return len(items)


def wait_current(client: VehicleClient, timeout: float) -> int | None:
    """The vehicle's MISSION_CURRENT (streamed at the client's status rate), None if silent."""
    deadline = time.monotonic() + timeout
    while client.mission_current is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return client.mission_current


def resume(
    client: VehicleClient,
    state_file: Path,
    vehicle: str,
    from_item: int | None,
    default_alt: float,
    limits: FlightLimits,
    say: Callable[[str], None],
) -> int:
    """Continue the patrol at the last reached waypoint; returns the item made current."""
    items = client.download_mission()
    fp = fingerprint(items)
    saved, kept_in = load_progress(state_file), state_file
    if from_item is None and (saved is None or saved.fingerprint != fp or saved.last_reached is None):
        elsewhere = progress_kept_elsewhere(state_file, fp)
        if elsewhere is not None:
            kept_in, saved = elsewhere
    if from_item is not None:
        target = resume_item(items, from_item, None)
        say(f"resuming at item {target} (--from {from_item})")
    elif saved is not None and saved.fingerprint == fp and saved.last_reached is not None:
        target = resume_item(items, saved.last_reached, saved.current)
        whose = (
            ""
            if kept_in == state_file
            else f": this mission's progress as {saved.vehicle} flew it, last saved {saved.updated[:19]}"
        )
        say(f"resuming at item {target}: last reached waypoint {saved.last_reached} ({kept_in}{whose})")
    else:
        if saved is not None and saved.fingerprint != fp:
            say(f"{state_file} is for another mission: using the vehicle's current item")
        current = wait_current(client, 3.0)
        target = resume_item(items, None, current)
        say(f"resuming at item {target}: the vehicle reports current item {current}")
    get_airborne(client, takeoff_alt(items, target, default_alt), limits, say)
    client.set_current(target)
    client.set_mode("AUTO")
    progress = (  # kept under this vehicle's name from now on
        replace(saved, vehicle=vehicle)
        if saved is not None and saved.fingerprint == fp
        else PatrolProgress(vehicle, fp, len(items))
    )
    save_progress(state_file, progress.flying_to(target, datetime.now(UTC)))
    return target


def begin_progress(client: VehicleClient, state_file: Path, vehicle: str) -> PatrolProgress:
    """Progress record for the mission on the vehicle, kept if the saved one is for the same mission."""
    items = client.download_mission()
    fp = fingerprint(items)
    saved = load_progress(state_file)
    if saved is not None and saved.fingerprint == fp:
        return saved
    return PatrolProgress(vehicle, fp, len(items))


#: What a Copter mode means to someone watching a patrol, as ``follow``'s ``on_mode`` says it.
MODE_SAYS = {
    "AUTO": "flying the mission",
    "GUIDED": "under the ground station's commands (a take-off, a point to fly to)",
    "LOITER": "holding its position",
    "BRAKE": "stopping where it is",
    "RTL": "returning home in a straight line",
    "SMART_RTL": "returning home along the path it flew",
    "LAND": "landing where it is",
}


def follow(
    client: VehicleClient,
    state_file: Path,
    progress: PatrolProgress,
    stop: threading.Event,
    on_change: Callable[[PatrolProgress], None],
    recorder: FlightRecorder | None = None,
    on_warning: Callable[[str], None] | None = None,
    on_mode: Callable[[str], None] | None = None,
) -> PatrolProgress:
    """Persist every MISSION_ITEM_REACHED / MISSION_CURRENT until the vehicle lands and disarms;
    ``recorder`` also logs the flight (track, battery, waypoints, the autopilot's warnings) for the
    logbook; ``on_warning`` hears each warning the autopilot says (a failsafe, a fence breach);
    ``on_mode`` each change of flight mode (a failsafe's RTL, an operator's LOITER).

    Returns when the vehicle, having been armed, is disarmed again, or when ``stop`` is set.
    """
    was_armed = client.armed
    mode = client.mode
    types = {"MISSION_ITEM_REACHED", "MISSION_CURRENT", "HEARTBEAT", "STATUSTEXT"}
    types |= _LOGGED if recorder else set()
    clock = VehicleClock()  # the flight is timed by the vehicle's GPS clock, as the drone times it
    with client._subscription() as q:
        while not stop.is_set():
            msg = client._wait(q, types, 0.5)
            now = datetime.now(UTC)
            if msg is not None:
                clock.see(msg, now.timestamp())
            t = clock.utc(now.timestamp())
            if msg is not None and msg.get_type() == "SYSTEM_TIME":
                continue
            if recorder is not None:
                recorder.mode(t, client.mode)
            if client.mode != mode:
                mode = client.mode
                if on_mode is not None and mode is not None:
                    on_mode(mode)
            if msg is not None and msg.get_type() == "STATUSTEXT":
                if msg.severity <= WARNING_SEVERITY:
                    text = statustext(msg)
                    if recorder is not None:
                        recorder.warning(t, text)
                    if on_warning is not None:
                        on_warning(text)
                continue
            if recorder is not None:
                recorder.armed(t, client.armed)
                if msg is not None and msg.get_type() in _LOGGED:  # arming and mode: the client's own
                    record(recorder, msg, t)
            if (
                msg is not None
                and msg.get_type() == "MISSION_ITEM_REACHED"
                and msg.seq != progress.last_reached
            ):
                progress = newest(progress, readable_progress(state_file)).reached(int(msg.seq), now)
                if recorder is not None:
                    recorder.waypoint_reached(int(msg.seq))
            elif msg is not None and msg.get_type() == "MISSION_CURRENT" and msg.seq != progress.current:
                progress = newest(progress, readable_progress(state_file)).flying_to(int(msg.seq), now)
            else:
                if client.armed:
                    was_armed = True
                elif was_armed:
                    log.info("event=vehicle_disarmed last_reached=%s", progress.last_reached)
                    return progress
                continue
            save_progress(state_file, progress)
            log.info(
                "event=patrol_progress last_reached=%s current=%s", progress.last_reached, progress.current
            )
            on_change(progress)
    return progress


#: What the logbook reads, at the rates the vehicle already streams (the GCS asks for no position
#: stream of its own: a vehicle may apply one link's rate to all, the companion computer's too),
#: and SYSTEM_TIME, the vehicle's GPS clock, at the client's status rate.
_LOGGED = {"GLOBAL_POSITION_INT", "GPS_RAW_INT", "SYS_STATUS", "SYSTEM_TIME"}
