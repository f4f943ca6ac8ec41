"""Settings of the simulators: ``[sim.vehicle]`` (and later ``[sim.camera]``) of the TOML file.

One ``SimSettings`` for the component, one nested model per simulator, so each simulator's
options stay together and a new one is a new field here. Environment overrides use the
nested delimiter: ``RIVERPATROL_SIM_VEHICLE__SPEEDUP=20``.

Fault windows accept the command-line spelling as strings too (``"30:40"``), so a TOML file,
an environment variable and ``--blackout 30:40`` all say the same thing the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contract import defaults
from contract.settings import ComponentSettings, settings_error


def _floats(spec: str, what: str) -> list[float]:
    try:
        return [float(p) for p in spec.replace(",", ":").split(":") if p != ""]
    except ValueError:
        raise ValueError(f"{what} {spec!r}: every part must be a number") from None


class Window(BaseModel):
    """A span of simulated time, seconds after boot; ``"30:40"`` as a string."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    start: float = Field(ge=0)
    end: float

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, v: Any) -> Any:
        if isinstance(v, str):
            parts = _floats(v, "window")
            if len(parts) != 2:
                raise ValueError(f"window {v!r} must be START:END (simulated seconds)")
            return {"start": parts[0], "end": parts[1]}
        if isinstance(v, list | tuple):
            return {"start": v[0], "end": v[1]}
        return v

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"window {self.start}:{self.end} must end after it starts")
        return self

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


class GpsGlitch(Window):
    """GPS fault window: fix lost (no offset) or the position jumps by ``north_m``/``east_m``.

    String form: ``"60:70"`` (fix lost) or ``"60:70:30,-10"`` (jump 30 m north, 10 m west).
    """

    north_m: float = 0.0
    east_m: float = 0.0

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, v: Any) -> Any:
        if isinstance(v, str):
            parts = v.split(":")
            if len(parts) not in (2, 3):
                raise ValueError(f"GPS glitch {v!r} must be START:END or START:END:NORTH_M,EAST_M")
            start, end = _floats(f"{parts[0]}:{parts[1]}", "GPS glitch")
            out: dict[str, Any] = {"start": start, "end": end}
            if len(parts) == 3:
                ne = _floats(parts[2], "GPS glitch offset")
                if len(ne) != 2:
                    raise ValueError(f"GPS glitch {v!r}: offset must be NORTH_M,EAST_M")
                out.update(north_m=ne[0], east_m=ne[1])
            return out
        if isinstance(v, list | tuple):
            return dict(zip(("start", "end", "north_m", "east_m"), v, strict=False))
        return v

    @property
    def loses_fix(self) -> bool:
        return self.north_m == 0.0 and self.east_m == 0.0


class BatterySag(BaseModel):
    """From ``at`` simulated seconds on, the pack reads ``volts`` lower and drains ``amps`` more.

    String form: ``"300:1.5"`` or ``"300:1.5:10"``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    at: float = Field(ge=0)
    volts: float = Field(default=0.0, ge=0)
    amps: float = Field(default=0.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, v: Any) -> Any:
        if isinstance(v, str):
            parts = _floats(v, "battery sag")
            if not 2 <= len(parts) <= 3:
                raise ValueError(f"battery sag {v!r} must be AT:VOLTS[:EXTRA_AMPS]")
            return dict(zip(("at", "volts", "amps"), parts, strict=False))
        return v


def parse_endpoint(spec: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``udp:HOST:PORT`` as MAVProxy spells it) to a tuple; ``ValueError`` if not."""
    s = spec.strip()
    if s.startswith(("udp:", "udpout:")):
        s = s.split(":", 1)[1]
    host, sep, port = s.rpartition(":")
    if not sep or not host:
        raise ValueError(f"endpoint {spec!r} must be HOST:PORT")
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"endpoint {spec!r}: port {port!r} is not a number") from None
    if not 0 < p < 65536:
        raise ValueError(f"endpoint {spec!r}: port {p} out of range")
    return host, p


class VehicleSettings(BaseModel):
    """The MAVLink multicopter simulator (``riverpatrol sim vehicle``)."""

    model_config = ConfigDict(extra="forbid")

    # --- endpoints, like ArduPilot SITL ------------------------------------------------------
    tcp: bool = Field(default=True, description="Serve MAVLink on a TCP port (SITL's SERIAL0).")
    tcp_host: str = Field(default="127.0.0.1", description="Address the TCP server binds.")
    tcp_port: int = Field(
        default=defaults.SITL_TCP_PORT, ge=0, lt=65536, description="TCP port; 0 picks a free one."
    )
    udp_out: list[str] = Field(
        default_factory=lambda: [f"{defaults.GCS_UDP_HOST}:{defaults.GCS_UDP_PORT}"],
        description="HOST:PORT destinations MAVLink is also sent to over UDP (replies are read).",
    )

    # --- clock --------------------------------------------------------------------------------
    speedup: float = Field(default=1.0, gt=0, le=1000, description="Simulated seconds per wall second.")
    physics_hz: float = Field(
        default=50.0, ge=10, le=400, description="Physics steps per simulated second (max stream rate)."
    )
    start_time: datetime | None = Field(
        default=None, description="Simulated UTC at boot (SYSTEM_TIME); default: the wall clock at start."
    )
    link_clock: Literal["wall", "sim"] = Field(
        default="wall",
        description=(
            "Clock of link timers (mission request retry 1 s / upload timeout 8 s, GCS failsafe): "
            "'wall' keeps them usable by real-time clients at any speedup; 'sim' is SITL-exact."
        ),
    )
    duration: float = Field(default=0.0, ge=0, description="Stop after this many simulated seconds (0: run).")

    # --- vehicle ------------------------------------------------------------------------------
    sysid: int = Field(default=1, ge=1, le=255, description="MAVLink system id (SYSID_THISMAV).")
    board_uid: int | None = Field(
        default=None,
        ge=1,
        lt=2**64,
        description=(
            "The flight controller's hardware id (AUTOPILOT_VERSION uid), which tells an edge agent's"
            ' drone from another\'s; default 0x52500000 + sysid ("RP" + sysid).'
        ),
    )
    home_lat: float = Field(default=defaults.HOME_LAT, ge=-90, le=90)
    home_lon: float = Field(default=defaults.HOME_LON, ge=-180, le=180)
    home_alt: float = Field(default=defaults.HOME_ALT_MSL, description="Home altitude, metres AMSL.")
    home_heading: float = Field(default=0.0, description="Heading at boot, degrees.")
    ekf_ready_s: float = Field(
        default=20.0, ge=0, description="Simulated seconds after boot until the position estimate is good."
    )
    mission_request: Literal["request", "request_int", "alternate"] = Field(
        default="request",
        description=(
            "How the vehicle asks for uploaded items: MISSION_REQUEST (what ArduPilot sends), "
            "MISSION_REQUEST_INT, or alternating both."
        ),
    )
    params: dict[str, float] = Field(default_factory=dict, description="Parameter values at boot.")
    hover_current_a: float = Field(default=22.0, gt=0, description="Battery current while hovering, A.")

    # --- wind ---------------------------------------------------------------------------------
    wind_speed: float = Field(default=0.0, ge=0, description="Mean wind, m/s (SIM_WIND_SPD).")
    wind_dir: float = Field(default=0.0, description="Direction the wind blows from, degrees (SIM_WIND_DIR).")
    wind_gust: float = Field(default=0.0, ge=0, description="Gust standard deviation, m/s (SIM_WIND_TURB).")

    # --- faults -------------------------------------------------------------------------------
    seed: int = Field(default=0, description="Seed of every random draw (gusts, GPS noise, packet loss).")
    blackouts: list[Window] = Field(
        default_factory=list, description="Windows (sim s) in which nothing is sent or read."
    )
    loss_out_pct: float = Field(default=0.0, ge=0, le=100, description="Outgoing messages dropped, %.")
    loss_in_pct: float = Field(default=0.0, ge=0, le=100, description="Incoming messages dropped, %.")
    gps_noise_m: float = Field(default=0.0, ge=0, description="GPS position noise, 1-sigma metres.")
    gps_glitches: list[GpsGlitch] = Field(default_factory=list, description="GPS fix-loss/jump windows.")
    battery_sags: list[BatterySag] = Field(default_factory=list, description="Battery voltage sags.")

    # --- observability ------------------------------------------------------------------------
    metrics_port: int | None = Field(default=None, ge=0, lt=65536, description="Prometheus metrics port.")
    metrics_host: str = Field(default="127.0.0.1", description="Address the metrics server binds.")

    @field_validator("udp_out")
    @classmethod
    def _endpoints(cls, v: list[str]) -> list[str]:
        for spec in v:
            parse_endpoint(spec)
        return v

    @field_validator("params")
    @classmethod
    def _param_names(cls, v: dict[str, float]) -> dict[str, float]:
        return {k.upper(): float(x) for k, x in v.items()}

    def udp_endpoints(self) -> list[tuple[str, int]]:
        return [parse_endpoint(s) for s in self.udp_out]


class SimSettings(ComponentSettings):
    """``[sim]``: one table per simulator."""

    section = "sim"
    vehicle: VehicleSettings = Field(default_factory=VehicleSettings)

    @classmethod
    def vehicle_with(
        cls, config: Any, overrides: dict[str, Any], params: dict[str, float] | None = None
    ) -> VehicleSettings:
        """The ``[sim.vehicle]`` settings of ``config`` and the environment with a command line's
        non-None ``overrides`` on top (its ``params`` merged into the file's). ``SettingsError``
        names every bad field, whichever of the three it came from."""
        base = cls.load(config).vehicle
        merged = {**base.model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
        merged["params"] = {**base.params, **(params or {})}
        try:
            return VehicleSettings.model_validate(merged)
        except ValidationError as e:
            raise settings_error("sim.vehicle", e) from None
