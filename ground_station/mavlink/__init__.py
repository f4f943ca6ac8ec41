"""A small typed MAVLink vehicle client for the ground station (a MAVSDK-like API on pymavlink).

``VehicleClient.connect(url)`` locks onto the vehicle's autopilot heartbeat, then offers
mission upload/download/clear, arming with the PreArm reason on refusal, mode changes,
takeoff, mission start, RTL and land, each with timeouts and clear exceptions.

ArduPilot keeps HOME as mission item 0. Like MAVProxy and QGroundControl, ``upload_mission``
takes the mission proper (items numbered 1..n) and sends a home placeholder as item 0; the
vehicle overwrites it with its real home. ``download_mission`` returns items 1..n unless
``include_home=True``.
"""

from ground_station.mavlink.client import VehicleClient
from ground_station.mavlink.errors import (
    CommandRejected,
    LinkClosed,
    MavlinkError,
    MavlinkTimeout,
    MissionRejected,
    NoHeartbeat,
)
from ground_station.mavlink.mission import CommandResult, MissionItem, home_placeholder, waypoint

__all__ = [
    "CommandRejected",
    "CommandResult",
    "LinkClosed",
    "MavlinkError",
    "MavlinkTimeout",
    "MissionItem",
    "MissionRejected",
    "NoHeartbeat",
    "VehicleClient",
    "home_placeholder",
    "waypoint",
]
