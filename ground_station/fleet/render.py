"""The fleet snapshot as a rich table (the dashboard) or a JSON document (for scripts)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ground_station.fleet.model import DroneRow, Link, shared_id_problem

_LINK_STYLE = {Link.ONLINE: "green", Link.STALE: "yellow", Link.OFFLINE: "bold red", Link.UNKNOWN: "dim"}


@dataclass(frozen=True)
class RelayView:
    """The relay's outbox to the cloud, or why it cannot be shown."""

    backlog: int | None = None
    oldest_age_s: float | None = None
    dead_letters: int | None = None
    delivered: int | None = None
    note: str | None = None
    refused: int | None = None  #: payloads the relay refused, kept with why
    #: The inspectors' open requests for a closer look, one line each with the command to fly there.
    looks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    rows: list[DroneRow]
    relay: RelayView
    broker: str
    broker_connected: bool
    rejected: int
    last_error: str | None
    broker_refused: str = ""
    #: (patrol ground speed, the vehicle's max airspeed), m/s: a wind past their difference is
    #: more than an upwind leg can be flown in at the planned speed (``gcs.speed_mps``,
    #: ``gcs.max_airspeed_mps``); None: not judged.
    wind_limit: tuple[float, float] | None = None


def as_json(snap: Snapshot) -> dict:
    return {
        "broker": snap.broker,
        "broker_connected": snap.broker_connected,
        "broker_refused": snap.broker_refused,
        "drones": [r.as_dict() for r in snap.rows],
        "relay": snap.relay.__dict__,
        "rejected_messages": snap.rejected,
        "last_error": snap.last_error,
    }


def _v(value: object, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)


def _ago(s: float | None) -> str:
    if s is None:
        return "never"
    return f"{s:.0f} s ago" if s < 120 else f"{s / 60:.0f} min ago"


def _camera(r: DroneRow) -> Text:
    """A drone's camera: "ok 3.5 fps" in green, anything else (ended, no frame for N s) in red, "-"
    when the drone does not say."""
    if r.camera is None:
        return Text("-")
    if r.camera != "ok":
        return Text(r.camera, style="bold red")
    return Text("ok" + ("" if r.detect_fps is None else f" {r.detect_fps:.1f} fps"), style="green")


ALL_COLUMNS = ("drone", "link", "heard", "mode", "armed", "batt", "gps", "position", "wind", "mission",
               "camera", "alerts", "outbox")  # fmt: skip
#: Columns a terminal under ``WIDE`` columns shows (``--json`` has every field): a field laptop's
#: default 80-column terminal gets whole cells instead of every column squeezed to "dro…".
COMPACT = ("drone", "link", "mode", "batt", "mission", "camera", "alerts", "outbox")
WIDE = 150


def too_windy(r: DroneRow, limit: tuple[float, float] | None) -> str | None:
    """What an operator must read when a drone flies in more wind than its upwind legs can be
    flown in at the planned ground speed; None when not (or not known)."""
    if limit is None or r.wind_mps is None:
        return None
    speed, most = limit
    if speed + r.wind_mps <= most:
        return None
    return (
        f"{r.drone_id} flies in {r.wind_mps:.0f} m/s of wind: at {speed:g} m/s over the ground its upwind"
        f" legs need {speed + r.wind_mps:.0f} m/s through the air, over the {most:g} it flies"
        " (max_airspeed_mps): it falls behind its plan, and its battery estimate with it"
    )


def table(snap: Snapshot, width: int = WIDE) -> Group:
    """The fleet as a table, the broker and relay lines under it; narrower than ``WIDE``, compact."""
    compact = width < WIDE
    t = Table(title=f"RiverPatrol fleet ({len(snap.rows)} drone(s))", expand=False)
    rows = []
    for r in snap.rows:
        link = Text(r.link.value + (f" ({r.reason})" if r.reason else ""), style=_LINK_STYLE[r.link])
        armed = "-" if r.armed is None else ("[bold]ARMED[/]" if r.armed else "disarmed")
        if compact:
            mode = _v(r.mode) + (" [bold]ARMED[/]" if r.armed else "")
            mission = "-" if r.mission_item is None else f"{r.mission_item}/{_v(r.mission_count)}"
        else:
            mode = _v(r.mode)
            mission = (
                "-"
                if r.mission_item is None
                else f"item {r.mission_item} of {_v(r.mission_count)} ({_v(r.mission_pct, '{:.0f}')}%)"
            )
        rows.append(
            {
                "drone": r.drone_id,
                "link": link,
                "heard": _ago(r.last_heard_s),
                "mode": mode,
                "armed": armed,
                "batt": _v(r.battery_pct, "{:.0f}%"),
                "gps": "-" if r.gps_fix is None else f"fix {r.gps_fix} / {r.satellites} sats",
                "position": "-" if r.lat is None else f"{r.lat:.6f},{r.lon:.6f} {r.alt_rel_m:.0f} m",
                # m/s @ where it blows from, as `gcs plan --wind` takes it
                "wind": Text(
                    "-" if r.wind_mps is None else f"{r.wind_mps:.0f}@{r.wind_from_deg or 0:.0f}°",
                    style="bold red" if too_windy(r, snap.wind_limit) else "",
                ),
                "mission": mission,
                "camera": _camera(r),
                "alerts": _v(r.alerts_this_flight),
                "outbox": _v(r.outbox_backlog),
            }
        )
    cols = COMPACT if compact else ALL_COLUMNS
    whole = {"position": 25, "mission": 5 if compact else 19}  # numbers must not be cut
    for col in cols:
        t.add_column(
            col,
            min_width=whole.get(col),
            no_wrap=col in ("drone", "batt", "wind", "alerts", "outbox", *whole),
        )
    for cells in rows:
        t.add_row(*(cells[c] for c in cols))
    rv = snap.relay
    if rv.note:
        relay = f"relay to cloud: {rv.note}"
    else:
        age = "-" if rv.oldest_age_s is None else f"{rv.oldest_age_s:.0f} s"
        relay = (
            f"relay to cloud: backlog {rv.backlog} (oldest {age}), delivered {rv.delivered}, "
            f"dead letters {rv.dead_letters}"
        ) + (f", refused {rv.refused} (`gcs alerts --rejected` says why)" if rv.refused else "")
    down = f"[red]refused us: {escape(snap.broker_refused)}[/]" if snap.broker_refused else "[red]down[/]"
    broker = f"broker {snap.broker}: " + ("[green]connected[/]" if snap.broker_connected else down)
    lines: list = [t]
    lines += [Text(p, style="bold red") for r in snap.rows if (p := shared_id_problem(r))]
    lines += [Text(p, style="bold red") for r in snap.rows if (p := too_windy(r, snap.wind_limit))]
    lines += [
        Text(
            f"{r.drone_id} runs a newer RiverPatrol than this station (it sends {', '.join(r.newer_fields)}):"
            " upgrade the ground station",
            style="yellow",
        )
        for r in snap.rows
        if r.newer_fields
    ]
    lines += [Text(f"{r.drone_id} warns: {r.warning}", style="bold yellow") for r in snap.rows if r.warning]
    lines += [Text.from_markup(broker + f"   rejected messages {snap.rejected}"), Text(relay)]
    lines += [Text(look, style="bold yellow") for look in rv.looks]
    if snap.last_error:
        lines.append(Text(f"last rejected: {snap.last_error}", style="yellow"))
    return Group(*lines)
