"""Which HEARTBEATs come from the vehicle's autopilot, shared by every MAVLink client.

A link carries heartbeats from GCSs, companion computers, gimbals, cameras and more; a client
that locks onto the first heartbeat it sees may end up talking to a camera. Plain integers
from MAVLink ``common.xml`` keep this module free of pymavlink (the contract is stdlib-only);
``tests/edge_telemetry`` checks them against pymavlink's enums.
"""

from __future__ import annotations

#: ``MAV_AUTOPILOT_INVALID``: the sender is not a flight controller.
MAV_AUTOPILOT_INVALID = 8

#: ``MAV_TYPE`` values of things that are not a vehicle's autopilot.
NON_VEHICLE_MAV_TYPES: frozenset[int] = frozenset(
    {
        5,  # ANTENNA_TRACKER
        6,  # GCS
        18,  # ONBOARD_CONTROLLER
        26,  # GIMBAL
        27,  # ADSB
        30,  # CAMERA
        31,  # CHARGING_STATION
        32,  # FLARM
        33,  # SERVO
        34,  # ODID
        36,  # BATTERY
        37,  # PARACHUTE
        38,  # LOG
        39,  # OSD
        40,  # IMU
        41,  # GPS
        42,  # WINCH
        44,  # ILLUMINATOR
        48,  # GRIPPER
    }
)

#: Component ids of peripherals that sometimes send vehicle-like heartbeats.
PERIPHERAL_COMPONENT_IDS: frozenset[int] = frozenset({154, *range(100, 106)})  # GIMBAL, CAMERA..CAMERA6


def is_autopilot_heartbeat(mav_type: int, autopilot: int, component_id: int) -> bool:
    """True when a HEARTBEAT with these fields comes from a vehicle's flight controller."""
    return (
        autopilot != MAV_AUTOPILOT_INVALID
        and mav_type not in NON_VEHICLE_MAV_TYPES
        and component_id not in PERIPHERAL_COMPONENT_IDS
    )
