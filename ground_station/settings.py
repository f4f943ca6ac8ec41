"""Ground-station settings: the ``[gcs]`` table of the config file, ``RIVERPATROL_GCS_*`` env.

Grouped by what reads them; add a group for a new command rather than reusing a field.
Figures for the energy model are those of a ~2.5 kg survey quadcopter on a 6S 4.5 Ah pack;
change them to your airframe's measured hover power before trusting a battery verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from contract import defaults
from contract.broker import BrokerAuth
from contract.settings import ComponentSettings

if TYPE_CHECKING:
    from ground_station.planning.energy import EnergyModel


class GcsSettings(ComponentSettings):
    """Everything ``riverpatrol gcs`` commands need that is not a per-run option."""

    section: ClassVar[str] = "gcs"

    # --- patrol flight (``gcs plan``; command-line options override) ---------------------------
    alt_m: float = Field(30.0, gt=0, description="patrol altitude above home, m")
    speed_mps: float = Field(8.0, gt=0, description="cruise ground speed, m/s")
    hover_speed_mps: float = Field(5.0, gt=0, description="QGC hoverSpeed written into .plan, m/s")
    overlap: float = Field(0.3, ge=0, lt=0.95, description="side overlap between neighbouring passes")
    max_alt_m: float = Field(120.0, gt=0, description="refuse plans above this (CAAC light-UAV ceiling)")
    max_speed_mps: float = Field(15.0, gt=0, description="refuse plans faster than this")
    max_waypoint_spacing_m: float = Field(250.0, gt=0, description="longest leg between waypoints, m")
    simplify_tolerance_m: float = Field(1.0, gt=0, description="how far waypoints may cut a bend, m")
    fence_margin_m: float = Field(
        30.0, ge=0, description="geofence around the planned route, m on every side (0: no fence)"
    )
    no_fly_zones: Path | None = Field(
        None,
        description="GeoJSON of no-fly zones (Polygons): plans go around them, uploads are checked against"
        " them, fences keep them out",
    )
    no_fly_margin_m: float = Field(
        20.0, ge=0, description="how far clear of each no-fly zone a plan's route goes around it, m"
    )
    fence_action: str = Field(
        "smartrtl",
        pattern="^(smartrtl|rtl|land|report)$",
        description="what the autopilot does on a fence breach (smartrtl: back along the path flown)",
    )
    launch_near_lat: float = Field(defaults.HOME_LAT, description="default launch: river end nearest here")
    launch_near_lon: float = Field(defaults.HOME_LON)

    # --- camera -------------------------------------------------------------------------------
    camera_calibration: Path | None = Field(
        None, description="contract.camera.CameraModel JSON; default: CameraModel.default()"
    )

    # --- battery and energy model (ground_station/planning/energy.py) --------------------------
    battery_wh: float = Field(99.0, gt=0, description="pack energy, Wh (6S 4.5 Ah ~ 100 Wh)")
    battery_reserve: float = Field(0.25, ge=0, lt=1, description="share of the pack never planned")
    hover_power_w: float = Field(220.0, gt=0, description="electrical power in hover, W")
    drag_coeff: float = Field(0.004, ge=0, description="cruise power = hover * (1 + c * v^2), 1/(m/s)^2")
    climb_speed_mps: float = Field(2.5, gt=0, description="ArduPilot WPNAV_SPEED_UP")
    descent_speed_mps: float = Field(1.5, gt=0, description="ArduPilot WPNAV_SPEED_DN")
    land_speed_mps: float = Field(0.5, gt=0, description="ArduPilot LAND_SPEED")
    land_slow_alt_m: float = Field(10.0, ge=0, description="ArduPilot LAND_ALT_LOW")
    climb_power_factor: float = Field(1.3, gt=0, description="climb power / hover power")
    descent_power_factor: float = Field(0.8, gt=0, description="descent power / hover power")
    accel_mps2: float = Field(2.5, gt=0, description="ArduPilot WPNAV_ACCEL")
    max_airspeed_mps: float = Field(
        16.0, gt=0, description="the fastest the vehicle flies through the air (its ANGLE_MAX lean)"
    )
    wind_mps: float = Field(0.0, ge=0, description="the day's mean wind a plan is made for (gcs plan --wind)")
    wind_from_deg: float = Field(0.0, description="where that wind blows from, degrees (0: north)")

    # --- links ----------------------------------------------------------------------------------
    mqtt_host: str = defaults.MQTT_HOST
    mqtt_port: int = defaults.MQTT_PORT
    mqtt_username: str = Field("", description="the station's user on the broker (empty: anonymous)")
    mqtt_password: str = Field("", description="its password")
    mqtt_tls: bool = Field(False, description="encrypt the link to the broker (TLS), verifying the broker")
    mqtt_ca_file: str = Field("", description="CA that signed the broker's certificate (empty: the system's)")
    cloud_url: str = f"http://{defaults.CLOUD_HOST}:{defaults.CLOUD_PORT}"
    cloud_token: str = Field("", description="this station's bearer token for the cloud's ingest API")

    # --- relay (``gcs relay``, ``gcs alerts``) -------------------------------------------------
    relay_db: Path = Field(Path("var/gcs/relay.db"), description="the relay's durable SQLite outbox")
    relay_client_id: str = Field(
        "riverpatrol-relay", description="MQTT client id; stable = persistent session"
    )
    relay_share_group: str = Field("", description="MQTT shared-subscription group for several relays")
    relay_mqtt_protocol: Literal["5", "3.1.1"] = Field(
        "5", description="MQTT version the relay speaks: 5, or 3.1.1 for a broker without 5 (amqtt)"
    )
    relay_history_days: float = Field(
        90.0, ge=0, description="days delivered alerts stay listed by `gcs alerts` (0: for ever)"
    )
    relay_refused_retry_h: float = Field(
        6.0,
        ge=0,
        description="offer the cloud again the alerts it refused this often, h (a cloud upgraded"
        " since may take them; 0: only at the relay's start)",
    )
    relay_looks_poll_s: float = Field(
        30.0,
        ge=0,
        description="ask the cloud this often for the inspectors' requests for a closer look at a find, s"
        " (`gcs alerts` shows them; 0: never)",
    )
    relay_status_every_s: float = Field(
        30.0, gt=0, description="off a terminal (a service), log the relay's state this often, s"
    )

    # --- missions (``gcs mission ...``) ---------------------------------------------------------
    mavlink_url: str = Field(
        f"tcp:127.0.0.1:{defaults.SITL_TCP_PORT}", description="vehicle link (pymavlink URL)"
    )
    data_dir: Path = Field(Path("var/gcs"), description="ground-station state (patrol progress per vehicle)")
    heartbeat_timeout_s: float = Field(10.0, gt=0, description="give up on a silent vehicle after, s")
    command_timeout_s: float = Field(
        2.0, gt=0, description="per-try wait for a COMMAND_ACK / mission reply, s"
    )
    armable_timeout_s: float = Field(60.0, gt=0, description="wait for pre-arm checks to pass, s")
    climb_timeout_s: float = Field(90.0, gt=0, description="wait for the take-off climb, s")
    takeoff_reached_fraction: float = Field(
        0.9, gt=0, le=1, description="share of the take-off altitude that counts as airborne"
    )
    mode_timeout_s: float = Field(6.0, gt=0, description="wait for the heartbeat to show a new mode, s")
    goto_max_m: float = Field(
        2000.0, gt=0, description="`mission goto` refuses a point farther from the vehicle than this, m"
    )
    goto_min_alt_m: float = Field(
        5.0, ge=0, description="`mission goto` holds no lower than this above home, m"
    )
    payload_check: bool = Field(
        True,
        description=(
            "before take-off, check the drone's edge agent on the broker: heard, camera delivering,"
            " frames detected, autopilot heard (false: fly without it)"
        ),
    )
    failsafe_check: bool = Field(
        True,
        description=(
            "before take-off, read the vehicle's battery failsafe and refuse one that would not"
            " turn it home on a low battery (false: fly without it)"
        ),
    )
    payload_wait_s: float = Field(
        10.0, gt=0, description="listen this long for the edge agent's telemetry, s"
    )
    drone_id: str = Field(
        "",
        description="the edge agent's drone_id on this vehicle (empty: the agent heard where the vehicle is)",
    )

    # --- fleet dashboard (``gcs status``) -------------------------------------------------------
    fleet_stale_s: float = Field(
        5.0, gt=0, description="keep-alive window: no telemetry for longer marks a drone stale, s"
    )
    status_refresh_s: float = Field(1.0, gt=0, description="dashboard redraw period, s")
    status_settle_s: float = Field(
        2.0, gt=0, description="--once listens this long for retained status and a telemetry round, s"
    )

    def energy_model(self) -> EnergyModel:
        """The vehicle and battery figures the planner's battery verdict reads."""
        from ground_station.planning.energy import EnergyModel

        return EnergyModel(
            battery_wh=self.battery_wh,
            reserve=self.battery_reserve,
            hover_power_w=self.hover_power_w,
            drag_coeff=self.drag_coeff,
            climb_speed_mps=self.climb_speed_mps,
            descent_speed_mps=self.descent_speed_mps,
            land_speed_mps=self.land_speed_mps,
            land_slow_alt_m=self.land_slow_alt_m,
            climb_power_factor=self.climb_power_factor,
            descent_power_factor=self.descent_power_factor,
            accel_mps2=self.accel_mps2,
        )

    def mqtt_auth(self) -> BrokerAuth:
        """How the relay and the dashboard log in to the broker."""
        return BrokerAuth(self.mqtt_username, self.mqtt_password, self.mqtt_tls, self.mqtt_ca_file)
