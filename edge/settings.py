"""Settings of the edge agent (``[edge]`` in the TOML file, ``RIVERPATROL_EDGE_*`` in the env)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from contract.defaults import SITL_TCP_PORT
from contract.settings import ComponentSettings


class EdgeSettings(ComponentSettings):
    """Everything the companion-computer agent needs to know about its vehicle link."""

    section: ClassVar[str] = "edge"

    mavlink: str = Field(
        f"tcp:127.0.0.1:{SITL_TCP_PORT}",
        description="pymavlink connection string: tcp:host:port, udpin:0.0.0.0:port, udpout:, /dev/ttyX",
    )
    baud: int = Field(921600, gt=0, description="serial baud rate (ignored for network links)")
    source_system: int = Field(1, ge=1, le=255, description="our system id (a companion's is its vehicle's)")
    source_component: int = Field(191, ge=1, le=255, description="our component id (191 = ONBOARD_COMPUTER)")
    heartbeat_timeout: float = Field(30.0, gt=0, description="s to wait for the autopilot's first heartbeat")
    link_timeout: float = Field(3.0, gt=0, description="s of silence after which the link counts as lost")
    reconnect_delay: float = Field(1.0, gt=0, description="s between reconnect attempts of a closed link")
    stream_rate_hz: float = Field(10.0, gt=0, le=100, description="rate of position and attitude messages")
    status_rate_hz: float = Field(2.0, gt=0, le=50, description="rate of battery, GPS, HUD... messages")
    stream_check_s: float = Field(3.0, gt=0, description="s after a stream request before re-requesting")
    reboot_tolerance_s: float = Field(1.0, ge=0, description="time_boot_ms step back that means reboot")
    pose_history_s: float = Field(30.0, gt=0, description="seconds of poses kept for frame geotagging")
    pose_max_extrapolation_s: float = Field(0.5, ge=0, description="extrapolate poses this far, no further")
    pose_max_gap_s: float = Field(2.0, gt=0, description="longest gap between poses we interpolate across")
    statustext_keep: int = Field(20, ge=1, description="how many recent STATUSTEXTs the state keeps")
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus metrics port, 0 = off")
