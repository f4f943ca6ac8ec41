"""``riverpatrol gcs relay | alerts | broker-config``: the relay's operator commands."""

from __future__ import annotations

import base64
import json
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contract import terminal
from contract.logs import configure_logging
from ground_station.hostport import parse_hostport

if TYPE_CHECKING:
    from contract.messages import LookRequest
    from ground_station.relay.outbox import DeadLetter

Config = Annotated[Path | None, typer.Option("--config", help="TOML config file (its \\[gcs] table).")]


def relay(
    config: Config = None,
    broker: Annotated[str | None, typer.Option(help="MQTT broker host:port.")] = None,
    cloud: Annotated[str | None, typer.Option(help="Cloud base URL, e.g. http://cloud:8080.")] = None,
    token: Annotated[str | None, typer.Option(help="This station's bearer token for the cloud.")] = None,
    db: Annotated[Path | None, typer.Option(help="SQLite outbox file.")] = None,
    share_group: Annotated[
        str | None, typer.Option(help="Join an MQTT shared subscription: relays in a group split the fleet.")
    ] = None,
    client_id: Annotated[
        str | None, typer.Option(help="MQTT client id (keep it stable: persistent session).")
    ] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus /metrics on this port.")] = None,
) -> None:
    """Relay the fleet's alerts from the broker to the cloud, durably, until Ctrl-C or SIGTERM.

    Every alert is committed to a local SQLite outbox before the broker is acknowledged, then
    forwarded in batches; a cloud outage, a broker restart or a killed relay loses nothing.

    Every `relay_looks_poll_s` it also reads the inspectors' requests for a closer look at this
    station's finds: each new one is logged with the `gcs mission goto` command that flies there,
    and `gcs alerts` lists them.
    """
    from prometheus_client import REGISTRY, start_http_server
    from rich.live import Live

    from ground_station.relay.outbox import OutboxOpenError
    from ground_station.relay.service import Relay, RelayConfig
    from ground_station.settings import GcsSettings

    host, port = parse_hostport(broker)
    s = GcsSettings.load(
        config,
        mqtt_host=host,
        mqtt_port=port,
        cloud_url=cloud,
        cloud_token=token,
        relay_db=db,
        relay_share_group=share_group,
        relay_client_id=client_id,
    )
    configure_logging("INFO", fmt="auto")
    try:
        r = Relay(
            RelayConfig(
                db_path=s.relay_db,
                cloud_url=s.cloud_url,
                token=s.cloud_token,
                mqtt_host=s.mqtt_host,
                mqtt_port=s.mqtt_port,
                client_id=s.relay_client_id,
                share_group=s.relay_share_group,
                mqtt_protocol=s.relay_mqtt_protocol,
                auth=s.mqtt_auth(),
                history_days=s.relay_history_days,
                refused_retry_s=s.relay_refused_retry_h * 3600,
                logbook_dir=s.data_dir / "logbook",
                looks_every_s=s.relay_looks_poll_s,
                registry=REGISTRY,
            )
        )
    except OutboxOpenError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(3) from None
    if metrics_port:
        start_http_server(metrics_port)
    signal.signal(signal.SIGTERM, lambda *_: r._stop.set())
    console = Console(stderr=True)
    status_log = logging.getLogger("ground_station.relay.status")
    r.start()

    def state() -> dict:
        b = r.outbox.backlog()
        return {
            "broker_connected": r.connected.is_set(),
            "broker_refused": r.refused or None,
            "cloud_failures": r.forwarder.failures,
            "store_error": r.store_error or None,
            "received": int(r.m_received._value.get()),
            "delivered": b.delivered,
            "backlog": b.count,
            "oldest_s": round(b.oldest_age_s) if b.oldest_age_s is not None else None,
            "rejected": int(r.m_rejected._value.get()),
            "dead_letters": b.dead_letters,
            "drone_flights": int(r.m_flights._value.get()),
            "flights_sent": r.flights.sent if r.flights else 0,
            "flights_rejected": r.flights.rejected if r.flights else 0,
            "look_requests": len(r.look_requests),
            "look_requests_error": r.looks.last_error if r.looks else None,
        }

    def line() -> str:
        st = state()
        down = f"broker refused us: {escape(st['broker_refused'])}" if st["broker_refused"] else "broker down"
        link = "[green]broker ok[/]" if st["broker_connected"] else f"[red]{down}[/]"
        failures = st["cloud_failures"]
        cloud_state = "[green]cloud ok[/]" if failures == 0 else f"[red]cloud down ({failures} tries)[/]"
        age = f"{st['oldest_s']}s" if st["oldest_s"] is not None else "-"
        disk = f"[red]outbox cannot be written: {st['store_error']}[/]  " if st["store_error"] else ""
        n = st["look_requests"]
        looks = f"\n[yellow]{n} closer look(s) asked by inspectors: gcs alerts --looks[/]" if n else ""
        return (
            f"{link}  {cloud_state}  {disk}received {st['received']}  "
            f"delivered {st['delivered']}  backlog {st['backlog']} (oldest {age})  "
            f"rejected {st['rejected']}  dead {st['dead_letters']}  drones' flights {st['drone_flights']}  "
            f"flights sent {st['flights_sent']}{looks}"
        )

    try:
        if console.is_terminal:
            with Live(line(), console=console, refresh_per_second=2, transient=False) as live:
                while not r._stop.wait(0.5):
                    live.update(line())
        else:  # a service or a pipe: Live would print nothing; a structured line on a timer instead
            while True:
                status_log.info("relay status", extra=state())
                if r._stop.wait(s.relay_status_every_s):
                    break
    except KeyboardInterrupt:
        pass
    finally:
        if not console.is_terminal:
            status_log.info("relay stopping", extra=state())
        r.stop()


def alerts(
    config: Config = None,
    db: Annotated[Path | None, typer.Option(help="The relay's SQLite outbox file.")] = None,
    drone: Annotated[str | None, typer.Option(help="Only this drone's alerts.")] = None,
    debris_class: Annotated[
        str | None, typer.Option("--class", help="Only this class (bottle, bag, ...).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    show: Annotated[str | None, typer.Option(help="Show one alert in full (id or id prefix).")] = None,
    save_thumbnails: Annotated[
        Path | None, typer.Option(help="Write each alert's JPEGs into this folder.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    rejected: Annotated[
        bool,
        typer.Option(
            "--rejected",
            help="List the payloads the relay refused instead, with why (kept, not dropped: a drone"
            " newer than the relay sends what an upgraded relay takes at its next start).",
        ),
    ] = False,
    looks: Annotated[
        bool,
        typer.Option(
            "--looks",
            help="List only the inspectors' open requests for a closer look at a find, each with who"
            " asked, when, their note and the `gcs mission goto` command that flies there.",
        ),
    ] = False,
) -> None:
    """List recent alerts the relay received (works offline, from its outbox database).

    Finds an inspector asked for a closer look at are marked, and each request is listed under the
    table with the command that flies a drone there; a photo of the find taken after the relay read
    the request (the closer look's) reaching the cloud closes it. The list is the cloud's as the
    relay last read it (every `relay_looks_poll_s`).
    """
    from contract.messages import Drift
    from ground_station.missions.drift_target import drift_mark
    from ground_station.relay.looks import goto_from, look_line
    from ground_station.relay.outbox import RelayOutbox
    from ground_station.settings import GcsSettings

    s = GcsSettings.load(config, relay_db=db)
    if not s.relay_db.exists():
        typer.secho(
            f"no relay database at {s.relay_db}: has `riverpatrol gcs relay` run here?", fg="red", err=True
        )
        raise typer.Exit(3)
    if looks and (rejected or show):
        typer.secho(
            "error: --looks lists the requests alone: not with --rejected or --show", fg="red", err=True
        )
        raise typer.Exit(2)
    box = RelayOutbox(s.relay_db)
    asked = [
        r
        for r in box.look_requests()
        if (not drone or r.drone_id == drone) and (not debris_class or r.debris_class == debris_class)
    ]
    commands = {r.alert_id: goto_from(box, r) for r in asked}
    read_at = box.look_requests_read_at()
    if looks:
        box.close()
        _print_looks(asked, commands, read_at, as_json)
        return
    if rejected:
        kept = box.rejected()
        box.close()
        _print_rejected(kept[-limit:][::-1], as_json)
        return
    found = box.recent(limit=20 if show else limit, drone_id=drone, debris_class=debris_class, id_prefix=show)
    dead = {(d.alert_id, d.revision): d for d in box.dead_letters()}
    box.close()
    rows = [a for a, _ in found]
    in_cloud = {a["alert_id"] for a, delivered in found if delivered}
    refused = {a["alert_id"]: dead[k] for a in rows if (k := (a["alert_id"], a["revision"])) in dead}
    if show and not rows:
        typer.secho(f"no alert with id starting {show!r}", fg="red", err=True)
        raise typer.Exit(3)
    if save_thumbnails:
        save_thumbnails.mkdir(parents=True, exist_ok=True)
        for a in rows:
            for key in ("thumbnail_jpeg", "context_jpeg"):
                if a.get(key):
                    (save_thumbnails / f"{a['alert_id']}_{key.split('_')[0]}.jpg").write_bytes(
                        base64.b64decode(a[key])
                    )
    if as_json or show:
        for a in rows:
            typer.echo(json.dumps({k: v for k, v in a.items() if not k.endswith("_jpeg")} if not show else a))
            if show and a["alert_id"] in refused:
                typer.secho(_refusal(refused[a["alert_id"]], s.relay_refused_retry_h), fg="red", err=True)
        return
    con = terminal.console()
    t = Table(title=f"{len(rows)} recent alert(s)")
    # what an operator needs first, whole; a terminal under 110 columns shows only that (--json has all)
    whole = {"id": 8, "class": 10, "look": 5, "lat": 10, "lon": 11, "drift": 10, "captured": 14, "cloud": 7}
    cols = ["id", "class", "lat", "lon", "captured", "conf", "seen", "event", "cloud", "drone"]
    open_looks = {str(r.alert_id) for r in asked}
    if open_looks & {a["alert_id"] for a in rows}:  # a closer look asked: marked beside what it is
        cols.insert(2, "look")
    if any(a.get("drift") for a in rows):  # it is not where it was seen by now: said beside the place
        cols.insert(cols.index("lon") + 1, "drift")
    if con.width < 110:
        cols = [c for c in cols if c in whole]
    for col in cols:
        t.add_column(col, min_width=whole.get(col), no_wrap=True)
    for a in rows:
        cells = {
            "id": a["alert_id"][:8],
            "class": a["debris_class"],
            "lat": f"{a['lat']:.6f}",
            "lon": f"{a['lon']:.6f}",
            "captured": a["captured_at"][5:19].replace("T", " "),  # MM-DD HH:MM:SS, UTC
            "conf": f"{a['confidence']:.3f}",  # 0.996, not a rounded-up 1.00
            "seen": str(a["track"]["sightings"]),
            "event": a["event"],
            "cloud": _in_cloud(a["alert_id"], in_cloud, refused),
            "drone": a["drone_id"],
            "look": "[yellow]asked[/]" if a["alert_id"] in open_looks else "",
            "drift": drift_mark(Drift.model_validate(a["drift"]) if a.get("drift") else None),
        }
        t.add_row(*(cells[c] for c in cols))
    con.print(t)
    for d in refused.values():
        con.print(_refusal(d, s.relay_refused_retry_h), style="red", markup=False, highlight=False)
    for r in asked:
        con.print(
            look_line(r, commands[r.alert_id]), style="yellow", markup=False, highlight=False, soft_wrap=True
        )


def _print_looks(asked: list[LookRequest], commands: dict, read_at: float | None, as_json: bool) -> None:
    """The open closer-look requests alone, oldest asked first, as a table or JSON lines."""
    from ground_station.missions.drift_target import drift_mark
    from ground_station.relay.looks import local_time

    if as_json:
        for r in asked:
            typer.echo(json.dumps({**r.model_dump(mode="json"), "command": commands[r.alert_id]}))
        return
    con = terminal.console()
    if read_at is None:
        when = "the relay has not read them from the cloud yet"
    else:
        when = f"as the relay read them from the cloud at {local_time(datetime.fromtimestamp(read_at, UTC))}"
    t = Table(title=f"{len(asked)} open closer-look request(s), {when}")
    cols = ["id", "class", "lat", "lon", "last seen", "drone", "asked by", "asked at", "note"]
    drifts = any(r.drift for r in asked)  # where seen is not where it is now: said beside it
    if drifts:
        cols.insert(5, "drift")
    for col in cols:
        t.add_column(col, no_wrap=col != "note")
    for r in asked:
        row = [
            str(r.alert_id)[:8], escape(r.debris_class), f"{r.lat:.6f}", f"{r.lon:.6f}",
            local_time(r.last_seen) if r.last_seen else "-", escape(r.drone_id), escape(r.asked_by),
            local_time(r.asked_at), escape(r.note),
        ]  # fmt: skip
        if drifts:
            row.insert(5, drift_mark(r.drift))
        t.add_row(*row)
    con.print(t)
    for r in asked:
        con.print(f"{str(r.alert_id)[:8]}: {commands[r.alert_id]}", markup=False, highlight=False)
    if asked:
        con.print(
            "flown there and it was gone: riverpatrol gcs look-missed ID --why '...' tells the inspector",
            markup=False, highlight=False,
        )  # fmt: skip


def _in_cloud(alert_id: str, in_cloud: set[str], refused: dict) -> str:
    """Whether the alert's latest event got to the cloud, or it refused it (why: under the table)."""
    if alert_id in in_cloud:
        return "yes"
    return "[red]refused[/]" if alert_id in refused else "waiting"


def _refusal(d: DeadLetter, every_h: float) -> str:
    """Why the cloud refused an alert, and when it is offered again."""
    again = f"every {every_h:g} h and at the relay's start" if every_h > 0 else "at the relay's start"
    return f"{d.alert_id[:8]} rev {d.revision}: the cloud refused it ({d.reason}); offered again {again}"


def _print_rejected(kept: list, as_json: bool) -> None:
    """The refused payloads kept, newest first: when, on which topic, how big, why."""
    from datetime import datetime

    if as_json:
        for r in kept:
            doc = {
                "received_at": r.received_at,
                "topic": r.topic,
                "bytes": len(r.payload),
                "reason": r.reason,
            }
            typer.echo(json.dumps({**doc, "payload": r.payload.decode("utf-8", "replace")}))
        return
    con = terminal.console()
    t = Table(title=f"{len(kept)} refused payload(s) kept")
    for col in ("received", "topic", "bytes", "why"):
        t.add_column(col, no_wrap=col != "why")
    for r in kept:
        when = datetime.fromtimestamp(r.received_at).strftime("%m-%d %H:%M:%S")
        t.add_row(when, r.topic, f"{len(r.payload):,}", r.reason)
    con.print(t)


def broker_config(
    out: Annotated[Path, typer.Option(help="Where to write mosquitto.conf.")] = Path("mosquitto.conf"),
    port: Annotated[int, typer.Option(help="Listener port.")] = 1883,
    data_dir: Annotated[Path, typer.Option(help="Broker persistence folder.")] = Path("/var/lib/mosquitto"),
    password_file: Annotated[
        Path | None,
        typer.Option(help="Users and passwords (mosquitto_passwd): anonymous clients are turned away."),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate: the listener speaks TLS only.")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Write a Mosquitto config that never drops queued QoS 1 alerts for a slow or offline relay.

    With `--password-file`, each drone and the ground station log in (`broker_username` in a
    drone's `[edge]`, `mqtt_username` in `[gcs]`); with `--tls-cert`/`--tls-key` the radio link is
    encrypted (`broker_tls`, `mqtt_tls`).
    """
    from ground_station.relay.broker_config import mosquitto_conf

    try:
        text = mosquitto_conf(port, data_dir, password_file=password_file, tls_cert=tls_cert, tls_key=tls_key)
    except ValueError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(2) from None
    out.write_text(text)
    typer.echo(f"wrote {out}; run: mosquitto -c {out}")


def look_missed(
    target: Annotated[
        str,
        typer.Argument(
            help="The find asked about: its alert id, or its first characters (`gcs alerts --looks`)."
        ),
    ],
    why: Annotated[
        str,
        typer.Option(
            "--why", help="What you saw there (it drifted on, sank, was taken out): the inspector is told."
        ),
    ] = "",
    config: Config = None,
    cloud: Annotated[str | None, typer.Option(help="Cloud base URL, e.g. http://cloud:8080.")] = None,
    token: Annotated[str | None, typer.Option(help="This station's bearer token for the cloud.")] = None,
    db: Annotated[Path | None, typer.Option(help="The relay's SQLite outbox.")] = None,
) -> None:
    """Tell the inspector who asked for a closer look that the drone did not find the find there.

    The request is closed without a photo, with what you saw (`--why`), and the inspector is paged:
    a find that drifted on is theirs to look for downstream, or the next patrol's to see again. Exit 3
    when no open request matches, 4 when the cloud cannot be reached, 5 when it refuses.
    """
    import httpx

    from ground_station.relay.outbox import RelayOutbox
    from ground_station.settings import GcsSettings

    s = GcsSettings.load(config, cloud_url=cloud, cloud_token=token, relay_db=db)
    if not s.relay_db.exists():
        typer.secho(
            f"no relay database at {s.relay_db}: has `riverpatrol gcs relay` run here?", fg="red", err=True
        )
        raise typer.Exit(3)
    box = RelayOutbox(s.relay_db)
    try:
        asked = box.look_requests()
        found = [r for r in asked if str(r.alert_id).startswith(target.strip().lower())]
        if len(found) != 1:
            what = "no open closer-look request" if not found else f"{len(found)} open closer-look requests"
            typer.secho(
                f"{what} for a find whose id starts {target!r}: `gcs alerts --looks` lists them",
                fg="red",
                err=True,
            )
            raise typer.Exit(3)
        r = found[0]
        url = f"{s.cloud_url.rstrip('/')}/api/v1/alerts/{r.alert_id}/look/missed"
        headers = {"Authorization": f"Bearer {s.cloud_token}"} if s.cloud_token else {}
        try:
            answer = httpx.post(url, json={"note": why}, headers=headers, timeout=10.0)
        except httpx.HTTPError as e:
            typer.secho(f"cannot reach the cloud at {s.cloud_url}: {e}", fg="red", err=True)
            raise typer.Exit(4) from e
        if answer.status_code != 200:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text
            typer.secho(f"the cloud refused (HTTP {answer.status_code}): {detail}", fg="red", err=True)
            raise typer.Exit(5)
        box.replace_look_requests([q for q in asked if q.alert_id != r.alert_id])  # until the next poll
    finally:
        box.close()
    typer.echo(f"{str(r.alert_id)[:8]} {r.debris_class}: told {r.asked_by} the drone did not find it there")


def register(app: typer.Typer) -> None:
    """Add the relay's commands to the ``gcs`` app."""
    app.command("relay")(relay)
    app.command("alerts")(alerts)
    app.command("look-missed")(look_missed)
    app.command("broker-config")(broker_config)
