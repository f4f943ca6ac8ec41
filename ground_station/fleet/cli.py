"""``riverpatrol gcs status``: the live fleet dashboard (or one JSON snapshot with --once --json)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from contract import terminal
from contract.logs import configure_logging
from ground_station.hostport import parse_hostport

EXIT_BROKER = 4


def _relay_view(db: Path):
    from ground_station.fleet.render import RelayView
    from ground_station.relay.looks import goto_from, look_line
    from ground_station.relay.outbox import RelayOutbox

    if not db.exists():
        return RelayView(note=f"no relay database at {db}")
    try:
        box = RelayOutbox(db)
        try:
            b = box.backlog()
            looks = tuple(look_line(r, goto_from(box, r)) for r in box.look_requests())
        finally:
            box.close()
    except Exception as e:  # a locked or corrupt file must not take the dashboard down
        return RelayView(note=f"{db}: unreadable ({e})")
    age = None if b.oldest_age_s is None else round(b.oldest_age_s, 1)
    return RelayView(b.count, age, b.dead_letters, b.delivered, refused=b.refused, looks=looks)


def status(
    config: Annotated[Path | None, typer.Option("--config", help="TOML file (its \\[gcs] table).")] = None,
    broker: Annotated[str | None, typer.Option(help="MQTT broker host:port.")] = None,
    relay_db: Annotated[Path | None, typer.Option("--relay-db", help="The relay's SQLite outbox.")] = None,
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON instead of a table (implies one shot).")
    ] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus /metrics on this port (live dashboard).")
    ] = None,
    stale_after: Annotated[
        float | None, typer.Option("--stale-after", help="Keep-alive window, s (gcs.fleet_stale_s).")
    ] = None,
) -> None:
    """Live fleet dashboard from MQTT: link, mode, battery, GPS, position, mission, alerts, backlogs.

    A drone shows offline as soon as the broker publishes its last will, and stale once
    nothing was heard for the keep-alive window. Exit 4 if the broker cannot be reached.
    """
    from rich.live import Live

    from ground_station.fleet.mqtt import FleetListener
    from ground_station.fleet.render import Snapshot, table
    from ground_station.fleet.render import as_json as to_json
    from ground_station.settings import GcsSettings

    host, port = parse_hostport(broker)
    try:
        s = GcsSettings.load(
            config, mqtt_host=host, mqtt_port=port, relay_db=relay_db, fleet_stale_s=stale_after
        )
    except (OSError, ValueError) as e:
        typer.secho(f"error: settings: {e}", fg="red", err=True)
        raise typer.Exit(2) from e
    configure_logging("WARNING", fmt="auto")
    where = f"{s.mqtt_host}:{s.mqtt_port}"
    from prometheus_client import REGISTRY, start_http_server

    listener = FleetListener(
        s.mqtt_host, s.mqtt_port, s.fleet_stale_s, registry=REGISTRY, auth=s.mqtt_auth()
    ).start()

    def snap() -> Snapshot:
        rows, rejected, last_error = listener.rows()
        up = listener.connected.is_set()
        limit = (s.speed_mps, s.max_airspeed_mps)
        return Snapshot(
            rows, _relay_view(s.relay_db), where, up, rejected, last_error, listener.refused, limit
        )

    try:
        if once or as_json:
            listener.attempted.wait(s.status_settle_s + 3.0)
            if not listener.connected.wait(0.5):
                why = (
                    f"the MQTT broker at {where} refused the dashboard: {listener.refused} "
                    "(mqtt_username, mqtt_password in [gcs])"
                    if listener.refused
                    else f"cannot reach the MQTT broker at {where}"
                )
                typer.secho(f"error: {why}", fg="red", err=True)
                raise typer.Exit(EXIT_BROKER)
            listener.subscribed.wait(2.0)
            time.sleep(s.status_settle_s)  # retained statuses at once, telemetry within a period
            if as_json:
                typer.echo(json.dumps(to_json(snap()), default=str))
            else:
                con = terminal.console()
                con.print(table(snap(), con.width))
            return
        if metrics_port:
            start_http_server(metrics_port)
        with Live(refresh_per_second=4, screen=False) as live:
            while True:
                live.update(table(snap(), live.console.width))  # follows a resized terminal
                time.sleep(s.status_refresh_s)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
