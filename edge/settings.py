"""Settings of the edge agent (``[edge]`` in the TOML file, ``RIVERPATROL_EDGE_*`` in the env)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from contract.defaults import MQTT_HOST, MQTT_PORT, SITL_TCP_PORT
from contract.settings import ComponentSettings


class EdgeSettings(ComponentSettings):
    """Everything the companion-computer agent needs: its vehicle link, camera, detector and broker."""

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
    flight_checkpoint_s: float = Field(
        10.0,
        gt=0,
        description="s between checkpoints of the flight in the air (its record outlives a restart)",
    )
    metrics_port: int = Field(0, ge=0, le=65535, description="Prometheus metrics port, 0 = off")

    # --- the agent (``riverpatrol edge run``) ---------------------------------------------------
    camera: str = Field(
        "sim://127.0.0.1:5600",
        description="frame source: sim://host:port (simulated camera feed), a video file, a device index, "
        "or an rtsp:// / http:// URL",
    )
    warning_shown_s: float = Field(
        60.0, gt=0, description="s the autopilot's latest warning rides along in the drone's telemetry"
    )
    camera_stall_s: float = Field(
        3.0, gt=0, description="s without a frame after which health calls the camera stalled"
    )
    camera_reopen_s: float = Field(
        2.0, gt=0, description="s without a frame after which a live camera (device, URL) is reopened"
    )
    camera_timeout_s: float = Field(
        5.0, gt=0, description="s a network camera's open or read may take before it counts as failed"
    )
    camera_latency_s: float = Field(
        0.0,
        ge=0,
        le=5,
        description="s from exposure to arrival of a video/RTSP camera's frame (often 0.1-0.3; film a "
        "stopwatch beside its live view to measure it): frames are stamped that much earlier, so the "
        "pose they are geotagged with is the one they were taken at",
    )
    broker_host: str = Field(MQTT_HOST, description="MQTT broker host")
    broker_port: int = Field(MQTT_PORT, ge=1, le=65535, description="MQTT broker port")
    broker_username: str = Field("", description="this drone's user on the broker (empty: anonymous)")
    broker_password: str = Field("", description="its password")
    broker_tls: bool = Field(False, description="encrypt the link to the broker (TLS), verifying the broker")
    broker_ca_file: str = Field(
        "", description="CA that signed the broker's certificate (empty: the system's)"
    )
    drone_id: str = Field("drone-1", min_length=1, max_length=64, description="this drone's id on MQTT")
    mission_id: str = Field(
        "mission-1", min_length=1, max_length=64, description="mission the alerts belong to"
    )
    outbox_path: Path = Field(
        Path("edge_outbox.db"), description="SQLite outbox: unsent alerts survive restarts"
    )
    model: Path | None = Field(None, description="ONNX detector (default: the shipped model)")
    detector_threads: int = Field(2, ge=1, description="onnxruntime intra-op threads")
    verifier: bool = Field(True, description="second look at each candidate with the model's verifier")
    score_threshold: float | None = Field(None, gt=0, lt=1, description="None: the model's own threshold")
    class_map: str = Field(
        "",
        description="a model of your own: its class = debris class, e.g. 'plastic_bottle=bottle,tyre=' "
        "('name=' leaves a class out of alerts, '*=' every class not named); same names match by themselves",
    )
    rivers_file: Path | None = Field(
        None,
        description="GeoJSON of the rivers patrolled: LineString centerlines drawn downstream, each with "
        "width_m (and tidal: false where the flow never turns); a re-sighting minutes later must fit their "
        "current, so a look-alike across the water is another item (default: the bundled Futian rivers)",
    )
    calibration: Path | None = Field(None, description="camera calibration JSON (default drone profile)")
    gimbal_pitch_deg: float = Field(-90.0, ge=-180, le=180, description="camera mount pitch, -90 = nadir")
    gimbal_stabilized: bool = Field(True, description="3-axis gimbal (only the vehicle's yaw reaches it)")
    home_is_water_level: bool = Field(
        True, description="height above the water = altitude above home (take off from the bank)"
    )
    water_alt_msl: float | None = Field(
        None, description="water surface altitude AMSL, m; when set it overrides home_is_water_level"
    )
    min_alt_m: float = Field(3.0, gt=0, description="no detection below this height above the water")
    telemetry_interval_s: float = Field(1.0, gt=0, description="period of the MQTT telemetry summary")
    status_log_s: float = Field(
        10.0, gt=0, description="off a terminal (or with --plain), log the agent's status this often, s"
    )
    shutdown_flush_s: float = Field(5.0, ge=0, description="on stop, wait this long for the outbox to drain")
