"""``riverpatrol edge``: the agent on the drone's companion computer."""

from __future__ import annotations

from pathlib import Path

import typer

from contract.logs import configure_logging
from edge.detect.cli import detect_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """The drone's companion-computer agent: telemetry, detection, alerts over MQTT."""


@app.command()
def telemetry(
    mavlink: str = typer.Option(None, help="pymavlink connection string, e.g. tcp:127.0.0.1:5760"),
    config: Path = typer.Option(None, help="TOML settings file (\\[edge] section)"),
    once: bool = typer.Option(False, "--once", help="print a snapshot once the vehicle is heard, exit"),
    duration: float = typer.Option(None, help="watch for this many seconds, print a snapshot, exit"),
    as_json: bool = typer.Option(False, "--json", help="print the snapshot as JSON (with --once/--duration)"),
    metrics_port: int = typer.Option(None, help="serve Prometheus metrics on this port"),
) -> None:
    """Live view of the vehicle's telemetry until Ctrl-C (or a snapshot with --once/--duration)."""
    import json
    import time

    from rich.console import Console
    from rich.live import Live

    from edge.settings import EdgeSettings
    from edge.telemetry.link import TelemetryLink
    from edge.telemetry.view import render_state, state_to_dict

    settings = EdgeSettings.load(config, mavlink=mavlink, metrics_port=metrics_port)
    console = Console(stderr=as_json)
    configure_logging("WARNING", fmt="auto")
    link = TelemetryLink(settings).start()
    if settings.metrics_port:
        from prometheus_client import start_http_server

        from edge.telemetry.metrics import registry_for

        start_http_server(settings.metrics_port, registry=registry_for(link))
    try:
        if once or duration is not None:
            if duration is not None:
                time.sleep(duration)
            elif link.wait_for_vehicle(settings.heartbeat_timeout):
                time.sleep(min(2.0, settings.stream_check_s))  # let the requested streams arrive
            state = link.snapshot()
            if as_json:
                typer.echo(json.dumps(state_to_dict(state), indent=2))
            else:
                console.print(render_state(state, settings.mavlink))
            if state.system_id is None:
                console.print(f"[red]no autopilot heartbeat on {settings.mavlink}[/] {link.fatal or ''}")
                raise typer.Exit(1)
            return
        first = render_state(link.snapshot(), settings.mavlink)
        with Live(first, console=console, refresh_per_second=4) as live:
            while True:
                time.sleep(0.25)
                live.update(render_state(link.snapshot(), settings.mavlink))
    except KeyboardInterrupt:
        pass
    finally:
        link.stop()


app.command("detect")(detect_cmd)


@app.command()
def run(
    mavlink: str = typer.Option(None, help="pymavlink connection string, e.g. tcp:127.0.0.1:5760"),
    camera: str = typer.Option(
        None, help="sim://host:port, a video file, a device index or an RTSP/HTTP URL"
    ),
    camera_latency: float = typer.Option(
        None, help="s from exposure to arrival of a video/RTSP camera's frames, e.g. 0.2 (stamps move back)"
    ),
    broker: str = typer.Option(None, help="MQTT broker HOST:PORT"),
    drone_id: str = typer.Option(None, help="this drone's id on MQTT"),
    mission_id: str = typer.Option(None, help="mission the alerts belong to"),
    model: Path = typer.Option(None, help="ONNX detector (default: the shipped model)"),
    class_map: str = typer.Option(
        None, help="a model of your own: its class = debris class, e.g. 'plastic_bottle=bottle,tyre='"
    ),
    outbox: Path = typer.Option(None, help="SQLite outbox file (unsent alerts survive restarts)"),
    rivers: Path = typer.Option(
        None, help="GeoJSON of the rivers patrolled, centerlines drawn downstream (default: the bundled ones)"
    ),
    config: Path = typer.Option(None, help="TOML settings file (\\[edge] section)"),
    metrics_port: int = typer.Option(None, help="serve Prometheus metrics (and /healthz) on this port"),
    plain: bool = typer.Option(
        False, "--plain", help="Log lines instead of the live status line (always so off a terminal)."
    ),
) -> None:
    """Run the agent: frames -> detections -> geolocated, tracked alerts -> MQTT, until SIGTERM/Ctrl-C."""
    import signal
    import threading
    import time

    from rich.console import Console

    from edge.settings import EdgeSettings

    console = Console(stderr=True, soft_wrap=True)
    configure_logging("INFO", fmt="auto")
    host = port = None
    if broker:
        host, _, p = broker.rpartition(":")
        if not host or not p.isdigit():
            console.print(f"[red]error:[/] --broker must be HOST:PORT, got {broker!r}")
            raise typer.Exit(2)
        port = int(p)
    try:
        settings = EdgeSettings.load(
            config,
            mavlink=mavlink,
            camera=camera,
            camera_latency_s=camera_latency,
            broker_host=host,
            broker_port=port,
            drone_id=drone_id,
            mission_id=mission_id,
            model=model,
            class_map=class_map,
            outbox_path=outbox,
            rivers_file=rivers,
            metrics_port=metrics_port,
        )
    except (ValueError, FileNotFoundError) as e:
        console.print(f"[red]error:[/] settings: {e}")
        raise typer.Exit(2) from e

    from contract.rivers import RiverDataError
    from edge.agent import EdgeAgent
    from edge.detect.errors import DetectorError
    from edge.frames import CameraOpenError
    from edge.outbox import OutboxOpenError

    try:
        agent = EdgeAgent(settings)
    except RiverDataError as e:
        console.print(f"[red]error:[/] rivers: {e}")
        raise typer.Exit(2) from e
    except DetectorError as e:
        console.print(f"[red]error:[/] detector: {e}")
        raise typer.Exit(2) from e
    except (CameraOpenError, OutboxOpenError) as e:
        console.print(f"[red]error:[/] {e}")
        raise typer.Exit(3) from e
    if settings.metrics_port:
        _serve_metrics(agent, settings.metrics_port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    agent.start()
    console.print(
        f"edge agent {settings.drone_id}: camera {settings.camera}, vehicle {settings.mavlink}, "
        f"broker {settings.broker_host}:{settings.broker_port}, outbox {settings.outbox_path}"
    )
    started = time.monotonic()
    warned_offline = False

    def warn_offline() -> None:
        nonlocal warned_offline
        s = agent.status()
        if s.broker_connected or warned_offline or time.monotonic() - started < 3.0:
            return
        warned_offline = True
        console.print(
            f"[yellow]broker {settings.broker_host}:{settings.broker_port} unreachable "
            f"({agent.link.health().last_error or 'no connection'}): alerts are kept in the outbox "
            f"({s.outbox_depth} queued) and sent when it is back[/]"
        )

    try:
        if plain or not console.is_terminal:  # a service or a pipe: Live would print nothing at all
            log_status(agent)
            next_status = time.monotonic() + settings.status_log_s
            while not stop.wait(1.0):
                warn_offline()
                if time.monotonic() >= next_status:
                    log_status(agent)
                    next_status += settings.status_log_s
        else:
            from rich.live import Live

            with Live(status_line(agent), console=console, refresh_per_second=2) as live:
                while not stop.wait(0.5):
                    live.update(status_line(agent))
                    warn_offline()
    finally:
        if plain or not console.is_terminal:
            log_status(agent)
        console.print("stopping: ending open items, flushing the outbox ...")
        agent.stop()
        console.print(f"stopped; {agent.outbox_depth_at_stop} alerts left in {settings.outbox_path}")


def status_line(agent):
    """One line: fps, detections, open tracks, alerts sent/queued, link states."""
    from rich.text import Text

    s = agent.status()
    broker = f"[green]{s.broker}[/]" if s.broker == "up" else f"[red]{s.broker}[/]"
    vehicle = f"[green]{s.vehicle_link}[/]" if s.vehicle_link == "ok" else f"[yellow]{s.vehicle_link}[/]"
    return Text.from_markup(
        f"{s.fps:5.1f} fps  frames {s.frames}  det {s.detections}  tracks {s.open_tracks}  "
        f"items {s.open_items}  alerts {int(s.alerts_sent)} sent / {s.outbox_depth} queued  "
        + (f"[red]{s.alerts_held} held: outbox cannot be written[/]  " if s.alerts_held else "")
        + f"broker {broker}  vehicle {vehicle}  camera {'ok' if s.camera_ok else f'[red]{s.camera}[/]'}  "
        f"skipped {s.frames_rejected}"
    )


def log_status(agent) -> None:
    """The status line as one structured log line (JSON off a terminal: a service's journal)."""
    import logging

    s = agent.status()
    logging.getLogger("edge.agent").info(
        "agent status",
        extra={
            "fps": round(s.fps, 1),
            "frames": s.frames,
            "detections": s.detections,
            "tracks": s.open_tracks,
            "alerts_sent": int(s.alerts_sent),
            "queued": s.outbox_depth,
            "held": s.alerts_held,
            "broker": s.broker,
            "vehicle": s.vehicle_link,
            "camera": s.camera,
            "skipped": s.frames_rejected,
        },
    )


def _serve_metrics(agent, port: int) -> None:
    """Prometheus text on /metrics, the health indicator as JSON on /healthz."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from prometheus_client import REGISTRY, generate_latest

    from edge.telemetry.metrics import registry_for

    registries = (agent.registry, REGISTRY, registry_for(agent.telemetry))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/healthz"):
                h = agent.health()
                body, ctype, code = json.dumps(h).encode(), "application/json", 200 if h["ok"] else 503
            else:
                body = b"".join(generate_latest(r) for r in registries)
                ctype, code = "text/plain; version=0.0.4", 200
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


@app.command("config")
def config_cmd(config: Path = typer.Option(None, help="TOML settings file (\\[edge] section)")) -> None:
    """Print the settings the drone's agent runs with, as the `[edge]` table of a config file.

    Every setting is under its description; unset ones are commented out and secrets are not
    shown. With no file and no `RIVERPATROL_EDGE_*` variables these are the defaults: a file to
    start from (`riverpatrol edge config > drone.toml`).
    """
    from contract.settings import to_toml
    from edge.settings import EdgeSettings

    typer.echo(to_toml(EdgeSettings.load(config)), nl=False)
