"""``riverpatrol edge``: the agent on the drone's companion computer."""

from __future__ import annotations

from pathlib import Path

import typer

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
    import logging
    import time

    from rich.console import Console
    from rich.live import Live

    from edge.settings import EdgeSettings
    from edge.telemetry.link import TelemetryLink
    from edge.telemetry.view import render_state, state_to_dict

    settings = EdgeSettings.load(config, mavlink=mavlink, metrics_port=metrics_port)
    console = Console(stderr=as_json)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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
