"""``riverpatrol sim vehicle``: the command, registered on the ``sim`` app by ``sim/cli.py``.

Options default to ``None`` so the TOML file (``--config``, ``[sim.vehicle]``) and the
environment (``RIVERPATROL_SIM_VEHICLE__<FIELD>``) can fill them; ``--help`` shows the
built-in defaults, read from ``sim/settings.py``. Heavy imports (pymavlink, rich, the
simulator) happen inside the command, so ``riverpatrol --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sim.settings import VehicleSettings


def _d(model: type, name: str) -> str:
    """The built-in default of a settings field, for ``--help``."""
    f = model.model_fields[name]
    v = f.default_factory() if f.default_factory is not None else f.default  # type: ignore[call-arg]
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "none"
    return "none" if v is None else str(v)


def _hex(text: str) -> int:
    """A ``--board-uid``: hex, with or without ``0x``."""
    try:
        return int(text, 16)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a hex number", param_hint="--board-uid") from None


def _setup_logging(fmt: str, level: str) -> bool:
    """Log to stderr: rich key=value at a terminal, JSON lines otherwise. True if a terminal."""
    import logging
    import sys

    from contract.logs import KeyValueFormatter, configure_logging

    tty = sys.stderr.isatty()
    if fmt == "auto":
        fmt = "text" if tty else "json"
    root = logging.getLogger("riverpatrol")
    root.propagate = False
    if fmt == "text" and tty:
        from rich.console import Console
        from rich.logging import RichHandler

        h = RichHandler(console=Console(stderr=True), show_path=False, markup=False)
        h.setFormatter(KeyValueFormatter())
        root.handlers.clear()
        root.addHandler(h)
        root.setLevel(level.upper())
    else:  # JSON lines, or stamped key=value text, as every component writes them
        configure_logging(level, fmt="json" if fmt == "json" else "text", logger="riverpatrol")
    return tty


V = VehicleSettings


def vehicle(
    config: Annotated[
        Path | None, typer.Option(help="TOML file; its \\[sim.vehicle] table sets defaults.")
    ] = None,
    tcp_port: Annotated[
        int | None,
        typer.Option(
            help="TCP server port (SITL SERIAL0); 0 picks a free one.", show_default=_d(V, "tcp_port")
        ),
    ] = None,
    tcp_host: Annotated[
        str | None, typer.Option(help="TCP bind address.", show_default=_d(V, "tcp_host"))
    ] = None,
    no_tcp: Annotated[bool, typer.Option("--no-tcp", help="No TCP server.")] = False,
    out: Annotated[
        list[str] | None,
        typer.Option(
            help="Also send MAVLink over UDP to HOST:PORT (repeatable).", show_default=_d(V, "udp_out")
        ),
    ] = None,
    no_udp: Annotated[bool, typer.Option("--no-udp", help="No UDP out at all.")] = False,
    speedup: Annotated[
        float | None, typer.Option(help="Simulated seconds per wall second.", show_default=_d(V, "speedup"))
    ] = None,
    physics_hz: Annotated[
        float | None,
        typer.Option(help="Physics steps per simulated second.", show_default=_d(V, "physics_hz")),
    ] = None,
    link_clock: Annotated[
        str | None,
        typer.Option(
            help="Clock of link timers (mission retries, GCS failsafe): wall | sim.", show_default="wall"
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(help="Exit after this many simulated seconds; 0 runs until Ctrl-C.", show_default="0"),
    ] = None,
    start_time: Annotated[
        str | None, typer.Option(help="Simulated UTC at boot, ISO 8601.", show_default="the wall clock")
    ] = None,
    sysid: Annotated[int | None, typer.Option(help="MAVLink system id.", show_default=_d(V, "sysid"))] = None,
    board_uid: Annotated[
        str | None,
        typer.Option(
            help="The flight controller's hardware id (AUTOPILOT_VERSION uid), hex: two drones flown"
            " side by side with one sysid need two.",
            show_default="0x52500000 + sysid",
        ),
    ] = None,
    home: Annotated[
        str | None,
        typer.Option(
            help="LAT,LON[,ALT_AMSL[,HEADING]] of the boot location.",
            show_default=f"{_d(V, 'home_lat')},{_d(V, 'home_lon')},{_d(V, 'home_alt')},0",
        ),
    ] = None,
    ekf_ready: Annotated[
        float | None,
        typer.Option(
            help="Simulated seconds after boot until the position estimate is good (arming refused before).",
            show_default=_d(V, "ekf_ready_s"),
        ),
    ] = None,
    mission_request: Annotated[
        str | None,
        typer.Option(
            help="Upload requests: request (MISSION_REQUEST, as ArduPilot) | request_int | alternate.",
            show_default=_d(V, "mission_request"),
        ),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE parameter at boot (repeatable), e.g. DISARM_DELAY=0.")
    ] = None,
    hover_current: Annotated[
        float | None,
        typer.Option(help="Battery current in a hover, A.", show_default=_d(V, "hover_current_a")),
    ] = None,
    wind_speed: Annotated[
        float | None, typer.Option(help="Mean wind, m/s.", show_default=_d(V, "wind_speed"))
    ] = None,
    wind_dir: Annotated[
        float | None, typer.Option(help="Wind from, degrees.", show_default=_d(V, "wind_dir"))
    ] = None,
    wind_gust: Annotated[
        float | None, typer.Option(help="Gust standard deviation, m/s.", show_default=_d(V, "wind_gust"))
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of all randomness.", show_default=_d(V, "seed"))
    ] = None,
    blackout: Annotated[
        list[str] | None,
        typer.Option(help="START:END simulated seconds with no traffic either way (repeatable)."),
    ] = None,
    loss: Annotated[
        float | None, typer.Option(help="Random message loss both ways, %.", show_default="0")
    ] = None,
    loss_out: Annotated[
        float | None, typer.Option(help="Loss of outgoing messages, %.", show_default=_d(V, "loss_out_pct"))
    ] = None,
    loss_in: Annotated[
        float | None, typer.Option(help="Loss of incoming messages, %.", show_default=_d(V, "loss_in_pct"))
    ] = None,
    gps_noise: Annotated[
        float | None, typer.Option(help="GPS noise, 1-sigma metres.", show_default=_d(V, "gps_noise_m"))
    ] = None,
    gps_glitch: Annotated[
        list[str] | None,
        typer.Option(
            help="START:END[:NORTH_M,EAST_M] (sim s): fix lost, or with an offset a jump; repeatable."
        ),
    ] = None,
    battery_sag: Annotated[
        list[str] | None,
        typer.Option(
            help="AT:VOLTS[:EXTRA_AMPS]: from AT simulated seconds the pack reads lower (repeatable)."
        ),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port.", show_default="off")
    ] = None,
    metrics_host: Annotated[
        str | None, typer.Option(help="Metrics bind address.", show_default=_d(V, "metrics_host"))
    ] = None,
    status: Annotated[
        bool | None,
        typer.Option("--status/--no-status", help="Live status line.", show_default="at a terminal"),
    ] = None,
    log_format: Annotated[str, typer.Option(help="auto | text | json (auto: text at a terminal).")] = "auto",
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """A MAVLink 2 multicopter that behaves like ArduPilot Copter SITL on the wire.

    TCP server on 5760 and UDP out to 127.0.0.1:14550 by default; only HEARTBEAT until a client asks for streams. Connect with e.g. mavproxy.py --master tcp:127.0.0.1:5760 --out udp:127.0.0.1:14551.

    Times in fault options are simulated seconds since boot; at --speedup 20 a 60 s blackout lasts 3 wall seconds.
    """  # noqa: E501
    import logging

    from contract.settings import SettingsError
    from sim.settings import SimSettings

    overrides: dict[str, Any] = {
        "tcp_port": tcp_port,
        "tcp_host": tcp_host,
        "speedup": speedup,
        "physics_hz": physics_hz,
        "link_clock": link_clock,
        "duration": duration,
        "start_time": start_time,
        "sysid": sysid,
        "board_uid": None if board_uid is None else _hex(board_uid),
        "ekf_ready_s": ekf_ready,
        "mission_request": mission_request,
        "hover_current_a": hover_current,
        "wind_speed": wind_speed,
        "wind_dir": wind_dir,
        "wind_gust": wind_gust,
        "seed": seed,
        "loss_out_pct": loss_out if loss_out is not None else loss,
        "loss_in_pct": loss_in if loss_in is not None else loss,
        "gps_noise_m": gps_noise,
        "metrics_port": metrics_port,
        "metrics_host": metrics_host,
    }
    if no_tcp:
        overrides["tcp"] = False
    if no_udp:
        overrides["udp_out"] = []
    elif out:
        overrides["udp_out"] = out
    if blackout:
        overrides["blackouts"] = blackout
    if gps_glitch:
        overrides["gps_glitches"] = gps_glitch
    if battery_sag:
        overrides["battery_sags"] = battery_sag
    if home:
        parts = [p for p in home.split(",") if p.strip()]
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            raise typer.BadParameter(f"{home!r}: every part must be a number", param_hint="--home") from None
        if not 2 <= len(nums) <= 4:
            raise typer.BadParameter(f"{home!r} must be LAT,LON[,ALT[,HEADING]]", param_hint="--home")
        for key, val in zip(("home_lat", "home_lon", "home_alt", "home_heading"), nums, strict=False):
            overrides[key] = val
    cli_params: dict[str, float] = {}
    for spec in param or []:
        name, sep, value = spec.partition("=")
        try:
            cli_params[name.strip().upper()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{spec!r} must be NAME=NUMBER", param_hint="--param") from None
        if not sep:
            raise typer.BadParameter(f"{spec!r} must be NAME=NUMBER", param_hint="--param")
    try:
        settings = SimSettings.vehicle_with(config, overrides, cli_params)
    except SettingsError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None

    tty = _setup_logging(log_format, log_level)
    from sim.vehicle.params import SPECS

    unknown = [n for n in settings.params if n not in SPECS]
    if unknown:
        typer.echo(f"error: unknown parameter(s) {', '.join(unknown)}", err=True)
        raise typer.Exit(2)

    from sim.vehicle.observe import status_line
    from sim.vehicle.server import SimVehicle

    try:
        sim = SimVehicle(settings)
    except OSError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    log = logging.getLogger("riverpatrol.sim.vehicle")
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sim.request_stop())  # stop cleanly when terminated
    show_live = tty if status is None else status
    try:
        if show_live:
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            console = Console(stderr=True)
            with Live(Text(""), console=console, refresh_per_second=4, transient=True) as live:
                sim.run(status=lambda v: live.update(Text(status_line(v), style="bold cyan")))
        else:
            last = [0.0]

            def periodic(v: SimVehicle) -> None:
                import time

                if time.monotonic() - last[0] >= 10.0:
                    last[0] = time.monotonic()
                    log.info("status", extra={"fields": {"line": status_line(v)}})

            sim.run(status=periodic)
    except KeyboardInterrupt:
        pass
    except OSError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    finally:
        sim.stop()
    log.info("stopped", extra={"fields": {"sim_time": round(sim.sim_time, 2)}})
