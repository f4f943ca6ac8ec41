"""``riverpatrol gcs mission upload|download|start|resume|goto|rtl|smartrtl|land|watch`` and ``gcs status``.

Exit codes: 0 done; 2 bad command line or settings; 3 unreadable mission file; 4 no heartbeat,
link lost or the vehicle too slow; 5 refused by the vehicle (its reason is printed);
6 read-back differs from the file; 7 nothing safe to resume; 8 the payload (camera, detector,
edge agent) is not ready to patrol; 9 the vehicle's battery failsafe would not turn it home.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from contract.logs import configure_logging

EXIT_SETTINGS = 2
EXIT_FILE = 3
EXIT_LINK = 4
EXIT_REFUSED = 5
EXIT_MISMATCH = 6
EXIT_RESUME = 7
EXIT_PAYLOAD = 8
EXIT_FAILSAFE = 9

mission_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Put a patrol on a vehicle and fly it."
)

Config = Annotated[Path | None, typer.Option("--config", help="TOML config file (its \\[gcs] table).")]
Url = Annotated[
    str | None, typer.Option("--mavlink", help="Vehicle link, pymavlink syntax (tcp:HOST:PORT, udpin:...).")
]
Vehicle = Annotated[
    str | None,
    typer.Option(
        "--vehicle",
        help="Name for this vehicle's patrol state and logbook (default: its drone's id: `drone_id`, else"
        " the edge agent heard where the vehicle is, else sysid-N).",
    ),
]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Ground-station data folder.")]
Drone = Annotated[
    str | None,
    typer.Option(
        "--drone",
        help="The edge agent's drone_id on this vehicle (default: the one agent online where the"
        " vehicle is).",
    ),
]
NoPayloadCheck = Annotated[
    bool,
    typer.Option(
        "--no-payload-check",
        help="Take off without checking the drone's camera, detector and edge agent on the broker.",
    ),
]

NoFailsafeCheck = Annotated[
    bool,
    typer.Option(
        "--no-failsafe-check",
        help="Take off without checking that the vehicle's battery failsafe would turn it home.",
    ),
]

_err = Console(stderr=True)


def _fail(code: int, message: str) -> NoReturn:
    _err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _say(text: str) -> None:
    _err.print(text, highlight=False)


def _settings(config: Path | None, **overrides: object):
    from ground_station.settings import GcsSettings

    try:
        return GcsSettings.load(config, **overrides)
    except (OSError, ValueError) as e:
        _fail(EXIT_SETTINGS, f"settings: {e}")


def _preflight_overrides(
    drone: str | None, no_payload_check: bool, no_failsafe_check: bool
) -> dict[str, object]:
    out: dict[str, object] = {"drone_id": drone}
    if no_payload_check:
        out["payload_check"] = False
    if no_failsafe_check:
        out["failsafe_check"] = False
    return out


def _logging() -> None:
    configure_logging("WARNING", fmt="auto")


@contextlib.contextmanager
def _vehicle(s) -> Iterator:
    """A connected client; every vehicle-side failure becomes a clear message and exit code."""
    from ground_station.mavlink import (
        CommandRejected,
        LinkClosed,
        MavlinkError,
        MavlinkTimeout,
        MissionRejected,
        NoHeartbeat,
        VehicleClient,
    )
    from ground_station.missions.flight import MissionMismatch
    from ground_station.missions.resume import ResumeError
    from ground_station.planning.mission_files import MissionFileError

    _logging()
    try:
        client = VehicleClient.connect(
            s.mavlink_url, heartbeat_timeout=s.heartbeat_timeout_s, timeout=s.command_timeout_s
        )
    except NoHeartbeat:
        _fail(EXIT_LINK, f"no heartbeat from a vehicle on {s.mavlink_url} within {s.heartbeat_timeout_s:g}s")
    except OSError as e:
        _fail(EXIT_LINK, f"cannot open {s.mavlink_url}: {e}")
    try:
        yield client
    except (CommandRejected, MissionRejected) as e:
        _fail(EXIT_REFUSED, f"the vehicle on {s.mavlink_url} refused: {e}")
    except MissionMismatch as e:
        _fail(EXIT_MISMATCH, str(e))
    except ResumeError as e:
        _fail(EXIT_RESUME, str(e))
    except MissionFileError as e:
        _fail(EXIT_FILE, str(e))
    except (LinkClosed, MavlinkTimeout) as e:
        # "not armable" is the vehicle's refusal too: it carries the PreArm text
        code = EXIT_REFUSED if "armable" in str(e) else EXIT_LINK
        _fail(code, f"{s.mavlink_url}: {e}")
    except MavlinkError as e:
        _fail(EXIT_LINK, f"{s.mavlink_url}: {e}")
    finally:
        client.close()


def _check_failsafes(s, client) -> None:
    """Before a take-off: the vehicle's battery failsafe would turn it home, or the command stops
    with every reason (exit 9); what else the operator should know is said. An airborne vehicle
    is not held up."""
    if not s.failsafe_check or client.armed:
        return
    from ground_station.missions.preflight import FAILSAFE_PARAMS, failsafe_problems

    with _err.status("reading the vehicle's failsafe settings"):
        first = client.get_param(FAILSAFE_PARAMS[0])  # none: not ArduPilot's names, ask no more
        params = {FAILSAFE_PARAMS[0]: first}
        if first is not None:
            params |= {name: client.get_param(name) for name in FAILSAFE_PARAMS[1:]}
    if first is None:
        _say(f"note: the vehicle does not give {FAILSAFE_PARAMS[0]}: its failsafes are not checked")
        return
    problems, notes = failsafe_problems(params)
    for note in notes:
        _say(f"note: {note}")
    if problems:
        lines = "\n  ".join(problems)
        _fail(
            EXIT_FAILSAFE,
            f"not taking off, the vehicle would not come home by itself:\n  {lines}\n"
            "(--no-failsafe-check flies anyway)",
        )
    _say("battery failsafe set: a low battery turns it home")


def _fleet_listener(s):
    """A started listener to every drone's status and telemetry on the station's broker."""
    from ground_station.fleet.mqtt import FleetListener

    return FleetListener(s.mqtt_host, s.mqtt_port, s.fleet_stale_s, auth=s.mqtt_auth()).start()


def _here(client) -> tuple[float, float] | None:
    """Where the vehicle is (lat, lon), to tell its edge agent from another drone's; None if it
    does not say."""
    pos = client.position()
    return None if pos is None else (pos[0], pos[1])


def _check_payload(s, client) -> str | None:
    """Before a take-off: the edge agent on the broker says camera, detector and autopilot are
    fine, or the command stops with every reason (exit 8). An airborne vehicle is not held up.
    Returns the judged agent's ``drone_id`` (None when nothing was judged)."""
    if not s.payload_check or client.armed:
        return None
    from ground_station.missions.preflight import PayloadNotReady, choose_agent, payload_problems

    listener = _fleet_listener(s)
    where = f"{s.mqtt_host}:{s.mqtt_port}"
    try:
        with _err.status(f"checking the drone's payload on the broker at {where}"):
            rows = _wait_for_agent(listener, s.drone_id, s.payload_wait_s)
            here = None if s.drone_id else _here(client)
            board = client.board_id()
        if not listener.connected.is_set():
            why = f" ({listener.refused})" if listener.refused else ""
            raise PayloadNotReady([f"cannot reach the broker at {where}{why} to hear the drone's edge agent"])
        agent = choose_agent(rows, s.drone_id, here, board)
        problems = payload_problems(agent)
        if problems:
            raise PayloadNotReady(problems)
    except PayloadNotReady as e:
        lines = "\n  ".join(e.problems)
        _fail(
            EXIT_PAYLOAD,
            f"not taking off, the payload is not ready:\n  {lines}\n(--no-payload-check flies anyway)",
        )
    finally:
        listener.stop()
    who = agent.drone_id
    _say(f"payload ready: camera, detector and autopilot link reported fine by the edge agent ({who})")
    return who


def _wait_for_agent(listener, drone_id: str, wait_s: float):
    """The fleet's rows once the wanted agent (or, with none named, any agent) has been heard
    online and a moment more has passed for the others, or when ``wait_s`` is up."""
    import time

    from ground_station.fleet.model import Link

    deadline = time.monotonic() + wait_s
    seen_at = None
    while time.monotonic() < deadline:
        rows, _, _ = listener.rows()
        heard = [  # online with telemetry: a retained "online" alone is no evidence of a camera
            r
            for r in rows
            if r.link is Link.ONLINE and r.mode is not None and r.drone_id == (drone_id or r.drone_id)
        ]
        if heard and seen_at is None:
            seen_at = time.monotonic()
        if seen_at is not None and (drone_id or time.monotonic() - seen_at > 1.5):
            return rows
        if listener.refused:
            break
        time.sleep(0.1)
    return listener.rows()[0]


def _limits(s):
    from ground_station.missions.flight import FlightLimits

    return FlightLimits(
        armable_s=s.armable_timeout_s,
        climb_s=s.climb_timeout_s,
        climb_fraction=s.takeoff_reached_fraction,
        mode_s=s.mode_timeout_s,
    )


def _vehicle_name(s, client, vehicle: str | None, agent: str | None = None) -> str:
    """The name this station keeps the vehicle's patrol state and logbook under: ``--vehicle``,
    else its drone's id (``drone_id``; the agent the payload check judged; the agent heard on the
    broker where the vehicle is), else ``sysid-N``. The drone logs its own flights under its id:
    named alike, the two records are one flight in the cloud, not two."""
    name = vehicle or s.drone_id or agent or _agent_heard_here(s, client)
    if name:
        return name
    name = f"sysid-{client.target[0]}"
    _say(
        f"note: naming the vehicle {name}: no edge agent heard on it alone; set `drone_id` (or"
        " --vehicle) so this station's logbook and the drone's own name one vehicle"
    )
    return name


def _agent_heard_here(s, client) -> str | None:
    """The ``drone_id`` of the one edge agent the broker carries that rides this vehicle: it says
    the vehicle's board id, else its telemetry puts its drone where the vehicle is and it says no
    other board (``preflight.vehicle_agents``). None when the broker cannot be reached within
    ``payload_wait_s``, when no such agent is heard within ``fleet_stale_s`` of connecting (every
    live agent speaks within it), or when two are."""
    import time

    from ground_station.missions.preflight import agent_here

    here, board = _here(client), client.board_id()
    if here is None and board is None:
        return None
    listener = _fleet_listener(s)
    try:
        with _err.status(f"naming the vehicle: listening for its edge agent at {s.mqtt_host}:{s.mqtt_port}"):
            deadline, connected = time.monotonic() + s.payload_wait_s, False
            while time.monotonic() < deadline:
                if not connected and listener.connected.is_set():
                    connected, deadline = True, min(deadline, time.monotonic() + s.fleet_stale_s)
                name = agent_here(listener.rows()[0], here, board)
                if name:
                    return name
                if not connected and listener.attempted.is_set() and not listener.connected.wait(0.2):
                    break  # refused, or nothing listens there
                time.sleep(0.2)
    finally:
        listener.stop()
    return None


def _state_file(s, name: str) -> Path:
    from ground_station.missions.resume import state_path

    return state_path(s.data_dir, name)


@mission_app.command()
def upload(
    file: Annotated[
        Path, typer.Argument(help="Mission file: .plan (QGroundControl) or .waypoints (QGC WPL 110).")
    ],
    mavlink: Url = None,
    config: Config = None,
    no_fence: Annotated[
        bool,
        typer.Option("--no-fence", help="Leave the vehicle's geofence as it is, even if the file has one."),
    ] = False,
    fence_margin: Annotated[
        float | None,
        typer.Option(
            "--fence-margin",
            min=1.0,
            help="A file without a geofence (planned elsewhere): draw one this many m around its route.",
        ),
    ] = None,
    ignore_no_fly: Annotated[
        bool,
        typer.Option(
            "--ignore-no-fly", help="Upload a mission whose route enters a no-fly zone (`no_fly_zones`)."
        ),
    ] = False,
) -> None:
    """Upload a mission, then read it back and compare (exit 6 with the differences if they differ).

    A .plan's geofence (`gcs plan` draws one around the route) goes up with it, is read back, and
    is turned on: the autopilot then will not arm outside it and, from a breach, comes home along
    the path it flew (SmartRTL; `[gcs] fence_action`). A mission planned elsewhere gets one drawn
    around its route with `--fence-margin`. A vehicle flying outside the new fence is refused (exit
    5) before anything goes up: turned on, the fence would turn it back at once.

    With the station's no-fly zones (`no_fly_zones`), a mission whose route enters one is refused
    (exit 5, each zone and leg named; `--ignore-no-fly` uploads it anyway), and a fence drawn with
    `--fence-margin` keeps out those near the route, as `gcs plan`'s does.
    """
    from rich.progress import BarColumn, Progress, TextColumn

    from contract.mavlink import FencePolygon
    from ground_station.missions.files import read_mission
    from ground_station.missions.flight import upload_verified
    from ground_station.missions.geofence import (
        FENCE_ACTION_SAYS,
        breach_of,
        fence_around,
        upload_fence,
        zones_crossed,
    )
    from ground_station.planning.fence import FenceError
    from ground_station.planning.mission_files import MissionFileError, read_fence
    from ground_station.planning.nofly import ZoneError, read_zones, zones_near

    s = _settings(config, mavlink_url=mavlink)
    try:
        items, home = read_mission(file)
        fence = [] if no_fence else read_fence(file)
        zones = read_zones(s.no_fly_zones) if s.no_fly_zones else []
    except (MissionFileError, ZoneError) as e:
        _fail(EXIT_FILE, str(e))
    with _vehicle(s) as client:
        drawn = False
        at = client.download_mission(include_home=True)[0] if zones or fence_margin is not None else None
        if zones and at is not None:  # a mission planned elsewhere may not know of them
            crossed = zones_crossed(items, (at.lat, at.lon), zones)
            named = ", ".join(f"{z.name!r} ({leg})" for z, leg in crossed)
            if crossed and not ignore_no_fly:
                _fail(
                    EXIT_REFUSED,
                    f"the route of {file} enters no-fly zone {named}. Nothing was uploaded: plan it round"
                    " them (`gcs plan --no-fly`), or upload with --ignore-no-fly",
                )
            if crossed:  # flown with leave: a fence must not turn it back at the zone
                _say(f"[yellow]warning:[/] the route enters no-fly zone {named}; it is not fenced out")
                zones = [z for z in zones if z not in {c for c, _ in crossed}]
        if not fence and not no_fence and fence_margin is not None and at is not None:
            try:  # round the route from the vehicle's real home, the zones near it kept out
                fence, drawn = [fence_around(items, (at.lat, at.lon), fence_margin)], True
            except FenceError as e:
                _fail(EXIT_FILE, f"{file}: {e}")
            fence += [FencePolygon(False, z.ring) for z in zones_near(zones, list(fence[0].points))]
        here = client.position() if fence and client.armed else None
        if fence and client.armed and here is None:
            _say(
                "note: the armed vehicle did not say where it is: the new fence goes up unchecked against it"
            )
        if fence and here is not None:
            breach = breach_of(fence, here[0], here[1])
            if breach:  # turned on, the fence would send it home (or down) at once
                _fail(
                    EXIT_REFUSED,
                    f"the vehicle on {s.mavlink_url} is flying {breach} of the new geofence (at"
                    f" {here[0]:.6f},{here[1]:.6f}): turned on, it would act on the breach at once"
                    f" ({FENCE_ACTION_SAYS[s.fence_action]}). Nothing was uploaded: bring it inside"
                    " first, or upload with --no-fence",
                )
        with Progress(
            TextColumn("uploading {task.description}"),
            BarColumn(),
            TextColumn("item {task.completed:.0f} of {task.total:.0f}"),
            console=_err,
        ) as bar:
            task = bar.add_task(file.name, total=len(items) + 1)
            upload_verified(client, items, home, progress=lambda i, n: bar.update(task, completed=i, total=n))
        _say(f"uploaded {len(items)} items from {file} to {s.mavlink_url}; read back identical")
        if drawn:
            kept = f", {len(fence) - 1} no-fly zone(s) near it kept out" if len(fence) > 1 else ""
            _say(f"geofence drawn {fence_margin:g} m around the mission's route from home{kept}")
        if fence:
            upload_fence(client, fence, s.max_alt_m, s.fence_action)
            corners = sum(len(p.points) for p in fence)
            _say(
                f"geofence on: {len(fence)} polygon(s), {corners} corners, read back identical; at most"
                f" {s.max_alt_m:g} m; a breach: {FENCE_ACTION_SAYS[s.fence_action]}"
            )
        elif not no_fence:
            _say(f"no geofence in {file}: the vehicle's own fence settings are left as they are")


@mission_app.command()
def download(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write: .plan or .waypoints (by suffix).")
    ],
    mavlink: Url = None,
    config: Config = None,
) -> None:
    """Download the vehicle's mission (with its real home) into a .plan or .waypoints file."""
    from ground_station.missions.files import write_mission

    s = _settings(config, mavlink_url=mavlink)
    with _vehicle(s) as client:
        items = client.download_mission(include_home=True)
        if len(items) <= 1:
            _fail(EXIT_REFUSED, f"the vehicle on {s.mavlink_url} holds no mission")
        try:
            write_mission(out, items, s.speed_mps, s.hover_speed_mps)
        except OSError as e:
            _fail(EXIT_FILE, f"cannot write {out}: {e}")
        _say(f"wrote {len(items) - 1} items (and home) to {out}")


def _follow_until_landed(s, client, name: str, fly: Callable[[], None] | None = None) -> None:
    """Follow the flight, keeping its progress for ``resume`` and logging it, until it lands.
    With ``fly`` (``start``'s or ``resume``'s own flying, run here), following begins first, so
    the flight is logged from its arming: the battery it took off with, the climb, the whole
    track. A flight followed only in part (Ctrl-C, a take-off that failed in the air) is still
    logged, as far as it was seen."""
    from rich.markup import escape

    from contract.flightlog import FlightRecorder
    from ground_station.missions.flight import MODE_SAYS, begin_progress, follow
    from ground_station.missions.follow_view import PatrolView
    from ground_station.missions.logbook import write_flight
    from ground_station.missions.resume import PatrolProgress

    path = _state_file(s, name)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    progress = begin_progress(client, path, name)
    recorder = FlightRecorder(name, mission_count=progress.count)
    _say(f"following {name}: patrol progress kept in {path} (Ctrl-C to stop)")
    view = PatrolView(_err, name, progress.count)  # a bar at a terminal once airborne, else lines
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["final"] = follow(
                client,
                path,
                progress,
                stop,
                view.change,
                recorder,
                lambda text: _say(f"[bold yellow]{name} warns:[/] {escape(text)}"),
                lambda mode: _say(
                    f"[bold]{name} is now {mode}[/]" + (f": {MODE_SAYS[mode]}" if mode in MODE_SAYS else "")
                ),
            )
        except Exception as e:  # the link lost: said in the command's thread
            outcome["error"] = e

    follower = threading.Thread(target=run, name="follow", daemon=True)
    follower.start()
    flying = fly is not None
    try:
        if fly is not None:
            fly()
            flying = False
        view.show_bar()
        while follower.is_alive():
            view.vitals(client.battery_pct, client.wind)
            follower.join(0.2)
    except KeyboardInterrupt:
        if flying:  # Ctrl-C while taking off: the command stops there, as without --follow
            raise
    finally:  # flown, failed or interrupted: stop following and log what was seen
        stop.set()
        follower.join(5)
        view.close()
        logged = write_flight(s.data_dir, recorder)
        if logged is not None:
            _say(f"flight logged in {logged} (`gcs logbook` lists the flights)")
    if isinstance(error := outcome.get("error"), Exception):
        raise error
    final = outcome.get("final")
    if isinstance(final, PatrolProgress):
        _say(f"stopped following; last reached waypoint {final.last_reached}")


@mission_app.command()
def start(
    mavlink: Url = None,
    config: Config = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Then follow the flight, saving progress for `resume`.")
    ] = False,
    vehicle: Vehicle = None,
    data_dir: DataDir = None,
    drone: Drone = None,
    no_payload_check: NoPayloadCheck = False,
    no_failsafe_check: NoFailsafeCheck = False,
) -> None:
    """Fly the uploaded mission from its start: arm when needed, take off if on the ground, AUTO.

    On the ground it first checks that the vehicle's battery failsafe would turn it home
    (`failsafe_check`), and the drone's edge agent on the broker (`payload_check`): heard, its
    camera delivering, frames detected, the autopilot heard; else it does not take off.
    """
    s = _settings(
        config,
        mavlink_url=mavlink,
        data_dir=data_dir,
        **_preflight_overrides(drone, no_payload_check, no_failsafe_check),
    )
    from ground_station.missions import flight

    with _vehicle(s) as client:
        _check_failsafes(s, client)
        agent = _check_payload(s, client)
        name = _vehicle_name(s, client, vehicle, agent) if follow else ""  # named on the ground

        def fly() -> None:
            with _err.status("starting the mission"):
                n = flight.start(client, s.alt_m, _limits(s), _say)
            _say(f"mission started: {n} items, mode {client.mode}")

        if follow:
            _follow_until_landed(s, client, name, fly)  # followed from before the take-off
        else:
            fly()


@mission_app.command()
def resume(
    mavlink: Url = None,
    config: Config = None,
    from_item: Annotated[
        int | None, typer.Option("--from", help="Resume at this mission item instead of the remembered one.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Then follow the flight, saving progress.")
    ] = False,
    vehicle: Vehicle = None,
    data_dir: DataDir = None,
    drone: Drone = None,
    no_payload_check: NoPayloadCheck = False,
    no_failsafe_check: NoFailsafeCheck = False,
) -> None:
    """Continue a patrol after an RTL or a battery swap, at the last waypoint it reached.

    The waypoint comes from the state `mission start --follow` / `mission watch` kept for this
    vehicle, else from the state this same mission's flight kept under another name (the vehicle
    named otherwise then, or another drone taking the patrol over), else from the vehicle's
    current mission item. On the ground the failsafe and payload are checked first, as
    for `start`.
    """
    s = _settings(
        config,
        mavlink_url=mavlink,
        data_dir=data_dir,
        **_preflight_overrides(drone, no_payload_check, no_failsafe_check),
    )
    from ground_station.missions import flight

    with _vehicle(s) as client:
        _check_failsafes(s, client)
        name = _vehicle_name(s, client, vehicle, _check_payload(s, client))
        path = _state_file(s, name)

        def fly() -> None:
            with _err.status("resuming the patrol"):
                target = flight.resume(client, path, name, from_item, s.alt_m, _limits(s), _say)
            _say(f"patrol resumed at item {target}, mode {client.mode}")

        if follow:
            _follow_until_landed(s, client, name, fly)  # followed from before the take-off
        else:
            fly()


@mission_app.command()
def watch(
    mavlink: Url = None, config: Config = None, vehicle: Vehicle = None, data_dir: DataDir = None
) -> None:
    """Follow a flight, saving each reached waypoint for `resume`, until the vehicle lands and disarms."""
    s = _settings(config, mavlink_url=mavlink, data_dir=data_dir)
    with _vehicle(s) as client:
        _follow_until_landed(s, client, _vehicle_name(s, client, vehicle))


@mission_app.command()
def goto(
    target: Annotated[
        str,
        typer.Argument(
            help="An alert's id, or its first characters as `gcs alerts` shows them; or LAT,LON.",
            show_default=False,
        ),
    ],
    alt: Annotated[
        float | None,
        typer.Option("--alt", help="Hold this high above home there, m (default: the height it flies at)."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Follow it there until it holds over the point.")
    ] = True,
    as_seen: Annotated[
        bool,
        typer.Option(
            "--as-seen", help="Fly to where the find was seen, not to where its drift has likely carried it."
        ),
    ] = False,
    mavlink: Url = None,
    config: Config = None,
) -> None:
    """Leave the patrol for a closer look: fly straight to a find (or a point) and hold over it.

    The vehicle flies in GUIDED, its camera and detector running, and holds there until told
    otherwise: `gcs mission resume` goes on with the patrol at the last waypoint it reached. The
    straight line is checked first: inside the vehicle's geofence all the way, clear of the
    station's no-fly zones, within `goto_max_m`, and between `goto_min_alt_m` and the fence's
    ceiling; else nothing is sent (exit 5, every reason said).

    A find drifts with the current: where the drone measured its drift, it is flown to where that
    has likely carried it by now (at most 30 min of it), saying how far from where it was seen;
    `--as-seen` flies to where it was seen.
    """
    from datetime import UTC, datetime

    from contract import geo
    from ground_station.mavlink import MavlinkTimeout
    from ground_station.missions.drift_target import goto_aim
    from ground_station.missions.geofence import fence_in_force
    from ground_station.missions.goto import GotoError, GotoLimits, arrived, goto_problems
    from ground_station.planning.nofly import ZoneError, read_zones
    from ground_station.relay.outbox import RelayOutbox

    s = _settings(config, mavlink_url=mavlink)
    try:
        alerts = None
        if s.relay_db.exists():  # the finds this station's relay received
            box = RelayOutbox(s.relay_db)
            alerts = [a for a, _ in box.recent(limit=20, id_prefix=target.strip())]
            box.close()
        aim = goto_aim(target, alerts, datetime.now(UTC), as_seen)  # the target is checked before the link
        zones = read_zones(s.no_fly_zones) if s.no_fly_zones else []
    except GotoError as e:
        _fail(EXIT_SETTINGS, str(e))
    except ZoneError as e:
        _fail(EXIT_FILE, str(e))
    with _vehicle(s) as client:
        if aim.said:  # a drifting find: carried on for as long as the drone's clock says it has been
            vehicle_now = client.utc(timeout=2.0)
            if vehicle_now is not None:
                aim = goto_aim(target, alerts, datetime.fromtimestamp(vehicle_now, UTC), as_seen)
            _say(aim.said)
        point = aim.point
        here = client.position()
        if here is None:
            _fail(EXIT_LINK, f"the vehicle on {s.mavlink_url} did not say where it is")
        if not client.armed or here[2] < 1.0:
            _fail(
                EXIT_REFUSED,
                f"the vehicle on {s.mavlink_url} is on the ground: take off first (`gcs mission start`)",
            )
        height = here[2] if alt is None else alt
        fence, ceiling = fence_in_force(client)
        limits = GotoLimits(s.goto_max_m, s.goto_min_alt_m, ceiling)
        problems = goto_problems((here[0], here[1]), point, height, limits, fence, zones)
        if problems:
            _fail(EXIT_REFUSED, f"not flying to {point.what}: " + "; ".join(problems) + ". Nothing was sent")
        d = geo.distance_m(here[0], here[1], point.lat, point.lon)
        sent_at = time.monotonic()
        client.reposition(point.lat, point.lon, height)
        try:
            client.wait_mode("GUIDED", s.mode_timeout_s)
        except MavlinkTimeout:  # accepted, and the heartbeat never showed GUIDED
            _fail(EXIT_REFUSED, f"the vehicle took the point but flies {client.mode}, not GUIDED")
        _say(
            f"flying to {point.what} ({point.lat:.6f},{point.lon:.6f}): {d:,.0f} m, to hold"
            f" {height:g} m above home, mode {client.mode}; `gcs mission resume` goes on with the patrol"
        )
        if not wait:
            return
        budget_s = d / 1.0 + 60.0  # slower than any patrol flies, and a margin
        deadline = time.monotonic() + budget_s
        with _err.status(f"flying to {point.what}") as status:
            while True:
                now = client.position()
                if now is not None and arrived(now, point, height):
                    break
                if client.mode != "GUIDED":  # a failsafe, the fence, another operator
                    said = "; ".join(t for at, _, t in client.statustexts if at >= sent_at)
                    _fail(
                        EXIT_REFUSED,
                        f"the vehicle left GUIDED for {client.mode} on its way: it is not going there"
                        + (f" (it said: {said})" if said else ""),
                    )
                if time.monotonic() > deadline:
                    _fail(EXIT_LINK, f"the vehicle is not over {point.what} after {budget_s:.0f} s")
                if now is not None:
                    to_go = geo.distance_m(now[0], now[1], point.lat, point.lon)
                    status.update(f"flying to {point.what}: {to_go:,.0f} m to go, {now[2]:.0f} m up")
                time.sleep(0.5)
        _say(
            f"holding over {point.what} at {height:g} m (GUIDED);"
            " `gcs mission resume` goes on with the patrol"
        )


def _mode_command(mode: str, what: str, refused_hint: str = "") -> Callable[..., None]:
    def command(mavlink: Url = None, config: Config = None) -> None:
        from ground_station.mavlink import CommandRejected

        s = _settings(config, mavlink_url=mavlink)
        with _vehicle(s) as client:
            try:
                client.set_mode(mode)
            except CommandRejected as e:
                _fail(EXIT_REFUSED, f"the vehicle on {s.mavlink_url} refused: {e}{refused_hint}")
            _say(f"{s.mavlink_url}: {what} (mode {client.mode}, current item {client.mission_current})")

    command.__doc__ = f"Switch the vehicle to {mode}: {what}."
    return command


mission_app.command("rtl")(_mode_command("RTL", "returning to launch in a straight line"))
mission_app.command("smartrtl")(
    _mode_command(
        "SMART_RTL",
        "returning to launch along the path it flew (the river, inside the fence)",
        " (it has no path to fly back: not armed since boot, armed without a position, or the path"
        " was given up; `gcs mission rtl` flies straight home)",
    )
)
mission_app.command("land")(_mode_command("LAND", "landing where it is"))


def logbook(
    config: Config = None,
    data_dir: DataDir = None,
    vehicle: Annotated[str | None, typer.Option("--vehicle", help="Only this vehicle's flights.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One GeoJSON Feature per line, with its track.")
    ] = False,
) -> None:
    """The flights logged: when, which vehicle, how long, how far and high, battery used, waypoints
    reached, who logged it, and whether `gcs relay` has taken it to the cloud (where the district
    sees which stretches were patrolled); each track is a GeoJSON file.

    A flight is logged by `mission watch` and `--follow` while they follow it, and by the drone
    itself (its edge agent; `gcs relay` files it here), so a patrol nobody watched is logged too.
    A flight logged by both is listed once: the longer record ("logged by: drone, station").
    Name each vehicle (`--vehicle`) by its drone's id for the two to be known as one flight."""
    import json
    from datetime import datetime

    from rich.markup import escape
    from rich.table import Table

    from contract.terminal import console
    from ground_station.missions.logbook import read_logbook
    from ground_station.relay.flights import cloud_state

    s = _settings(config, data_dir=data_dir)
    flights, bad = read_logbook(s.data_dir)
    for why in bad:
        _err.print(f"[yellow]skipped[/] {why}", highlight=False)
    flights = [f for f in flights if vehicle is None or f["properties"]["vehicle"] == vehicle]
    if as_json:
        for f in flights:
            typer.echo(json.dumps(f))
        return
    t = Table(title=f"{len(flights)} flight(s) in {s.data_dir / 'logbook'}", title_justify="left")
    columns = (
        "took off (local)",
        "vehicle",
        "time",
        "km",
        "max m",
        "battery",
        "waypoints",
        "came home",
        "logged by",
        "cloud",
    )
    for col in columns:
        t.add_column(
            col,
            justify="left" if col in ("took off (local)", "vehicle", "came home", "logged by") else "right",
            no_wrap=True,
        )
    t.add_column("autopilot warned")
    set_aside: list[tuple[str, str, str]] = []  # (flight, state, why)
    for f in flights:
        p = f["properties"]
        state, aside = cloud_state(Path(p["file"]))
        if aside:
            set_aside.append((Path(p["file"]).stem, state, aside))
        when = datetime.fromisoformat(p["armed_at"]).astimezone().strftime("%Y-%m-%d %H:%M")
        dur = p["duration_s"]
        took = "not seen landing" if dur is None else f"{dur // 60:.0f} min {dur % 60:02.0f} s"
        t.add_row(
            when, p["vehicle"], took,
            f"{p['distance_m'] / 1000:.2f}", "-" if p["max_alt_m"] is None else f"{p['max_alt_m']:.0f}",
            "-" if p["battery_used_pct"] is None else f"{p['battery_used_pct']:.0f} %",
            f"{len(p['waypoints_reached'])}/{p['mission_count']}", _came_home(p.get("modes") or []),
            ", ".join(p["logged_by"]), "[red]refused[/]" if state == "refused" else state,
            escape("; ".join(dict.fromkeys(w["text"] for w in p.get("warnings") or []))),
        )  # fmt: skip
    console().print(t)
    for name, state, why in set_aside:
        said = "the cloud refused it; offered again" if state == "refused" else "not sent to the cloud"
        console().print(f"{name}: {said} ({why})", style="red" if state == "refused" else "yellow",
                        markup=False, highlight=False)  # fmt: skip


def _came_home(modes: list[dict]) -> str:
    """How a flight ended (``contract.flightlog.came_home``), "-" where no mode was logged."""
    from contract.flightlog import came_home

    return came_home([str(m.get("mode")) for m in modes]) or "-"


def register(app: typer.Typer) -> None:
    """Add ``mission ...``, ``status`` and ``logbook`` to the ``gcs`` app."""
    from ground_station.fleet.cli import status

    app.add_typer(mission_app, name="mission")
    app.command("status")(status)
    app.command("logbook")(logbook)
