"""``riverpatrol demo``: the whole data path on one machine, nothing to set up.

It boots the MAVLink simulator over the Shenzhen River in Futian with its aerial camera over a
seeded, littered river; plans a patrol of the segment (as ``riverpatrol gcs plan`` would) and
uploads it with the ground station's MAVLink client; runs the edge agent (telemetry, ONNX
detection on every frame, geolocation, tracking, MQTT alerts with its outbox), an MQTT broker
(embedded amqtt unless ``--broker`` names one), the ground station's durable relay and the cloud
service with the inspectors' page and the CIM layer. Then it flies the patrol in AUTO, shows the
finds arrive in the cloud as they are made, and scores them against the simulator's ground truth.

The demo is glue only: every step is a component's public API, so what it shows is what an
operator, a drone, a ground station and a city server would run.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import tempfile
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from contract import defaults
from contract.camera import CameraModel
from contract.logs import configure_logging
from riverpatrol.demo.progress import PlainProgress, status_line
from riverpatrol.demo.score import Find, PatrolScore, score_patrol
from sim.settings import Window

if TYPE_CHECKING:
    from riverpatrol.demo.simulator import SimSpec

log = logging.getLogger("riverpatrol.demo")

INSPECTOR = "inspector"
STATION = "gcs-demo"


@dataclass
class DemoOptions:
    segment: str = "shenzhen-4"
    alt_m: float = 30.0
    speed_mps: float = 8.0
    overlap: float = 0.3
    #: Simulated seconds per wall second. Every frame is rendered and detected on this machine: at
    #: 2x two cores give the agent ~3.5 frames per simulated second (an item in ~10 frames).
    speedup: float = 2.0
    fps: float = 4.0
    tcp_port: int = 5760
    duration_s: float = 0.0  # 0 = until landed
    seed: int = 7
    debris: int = 40  # items on the patrolled segment (the scene holds the river's share around it)
    distractors: int = 16
    look: str = "heldout"  # the water the model was never trained on
    #: a breeze from the north, across the demo's river: the vehicle flies in it, debris drifts in it
    wind_mps: float = 3.0
    wind_from_deg: float = 0.0
    wind_gust_mps: float = 0.8
    #: The camera feed's frame size (the default drone lens, scaled). 960x540 renders 2x faster but
    #: has half the detail a 1080p camera gives the verifier's second look (fewer finds).
    feed_size: tuple[int, int] = (1920, 1080)
    broker: str = ""  # host:port of an MQTT broker; empty = start an embedded one (amqtt)
    #: wall seconds of the patrol with the drone's radio link to the broker cut
    #: (``riverpatrol.demo.radio``): its alerts wait in its outbox and are all delivered after
    link_outage: Window | None = None
    #: camera faults (``sim.camera.faults``): frames lost and sent corrupt, %, and wall seconds of
    #: the patrol with the camera off (feed closed); the edge must skip, reconnect and go on
    frame_loss_pct: float = 0.0
    frame_corrupt_pct: float = 0.0
    camera_blackout: Window | None = None
    cloud_port: int = defaults.CLOUD_PORT  # taken: any free port (the URL printed says which)
    workdir: Path | None = None
    serve: bool | None = None  # keep the cloud up after landing; None = when run in a terminal


def waiting(console: Console, what: str) -> AbstractContextManager:
    """A spinner while a person waits in a terminal; one plain line in a log or pipe.

    (Off a terminal rich's status prints nothing at all.)
    """
    if console.is_terminal:
        return console.status(what)
    console.print(what)
    return nullcontext()


def plan_items(segment: str, home: tuple[float, float], o: DemoOptions):
    """The patrol's plan and mission items for the vehicle client (home placeholder excluded)."""
    from ground_station.missions.files import to_vehicle
    from ground_station.planning.mission import build_mission
    from ground_station.planning.planner import PlanOptions, footprint_width_m, plan_patrol
    from ground_station.planning.reach_source import bundled_reach

    reach = bundled_reach(segment.split("-")[0], segment)
    footprint = footprint_width_m(CameraModel.default(), o.alt_m)
    plan = plan_patrol(reach, PlanOptions(o.alt_m, o.speed_mps, o.overlap, footprint, home))
    items, _home = to_vehicle(build_mission(plan), source=f"plan of {segment}")
    return plan, items


def sim_spec(o: DemoOptions, work: Path, tcp_port: int = 0) -> SimSpec:
    """The simulator's world and vehicle for the demo's options: the demo and the benches that
    rebuild its world (``bench/drift_bench.py``) agree on it by asking here."""
    from riverpatrol.demo.simulator import SimSpec

    return SimSpec(
        segment=o.segment, seed=o.seed, debris=o.debris, distractors=o.distractors, look=o.look,
        speedup=o.speedup, fps=o.fps, feed_size=o.feed_size, tcp_port=tcp_port, speed_mps=o.speed_mps,
        truth_path=work / "truth.jsonl", log_path=work / "sim.log",
        frame_loss_pct=o.frame_loss_pct, frame_corrupt_pct=o.frame_corrupt_pct,
        wind_mps=o.wind_mps, wind_from_deg=o.wind_from_deg, wind_gust_mps=o.wind_gust_mps,
    )  # fmt: skip


class CloudWatch:
    """Polls the cloud's public item list in the background: what the inspector and the CIM map see."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.items: list[dict] = []
        self.error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-cloud-watch", daemon=True)

    def start(self) -> CloudWatch:
        self._thread.start()
        return self

    def poll(self) -> list[dict]:
        try:
            r = httpx.get(f"{self.url}/api/v1/alerts", params={"limit": 1000}, timeout=5.0)
            r.raise_for_status()
            self.items, self.error = r.json()["items"], ""
        except (httpx.HTTPError, ValueError, KeyError) as e:
            self.error = f"cloud unreachable: {e}"
        return self.items

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.poll()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def patrol_panel(s, total: int, wall_s: float, url: str) -> Panel:
    """The flight in three lines (``riverpatrol edge telemetry`` shows the whole state)."""
    seq = s.mission_seq or 0
    link = "[green]UP[/]" if s.link_up else "[red]LOST[/]"
    armed = "[red]ARMED[/]" if s.armed else "[green]disarmed[/]"

    def f(v, fmt: str) -> str:
        return "—" if v is None else format(v, fmt)

    text = (
        f"mission item {seq}/{total} ({100 * seq / total:.0f}% of route)   wall {wall_s:5.1f} s   "
        "Ctrl-C to stop\n"
        f"{s.mode or '—'} {armed}   alt {f(s.alt_rel_m, '.1f')} m   {f(s.groundspeed_mps, '.1f')} m/s "
        f"heading {f(s.heading_deg, '.0f')}°   battery {f(s.battery_remaining_pct, 'd')} %   "
        f"GPS sats {f(s.gps_satellites, 'd')}\n"
        f"MAVLink {url} {link}  {s.message_rate_hz:.0f} msg/s  losses {s.link_losses}  "
        f"{s.lat or 0:.6f}, {s.lon or 0:.6f}"
    )
    return Panel(text, title="patrol")


def pipeline_table(agent, relay, watch: CloudWatch, sim, size: tuple[int, int], radio=None) -> Table:
    """Where the finds are on their way: drone -> broker -> ground station -> cloud."""
    s = agent.status()
    b = relay.outbox.backlog()
    t = Table(title="data path", show_header=False, title_justify="left")
    t.add_column("where", style="bold cyan", no_wrap=True)
    t.add_column("state")
    lost, corrupt = sim.frames_faulted
    t.add_row(
        "camera",
        f"{sim.frames_sent} frames sent  ({size[0]}x{size[1]}, simulator process)"
        + (f"  fault injection: {lost} lost, {corrupt} corrupt" if lost or corrupt else "")
        + ("  [red]OFF: no camera feed[/]" if sim.camera_off else ""),
    )
    t.add_row(
        "edge agent",
        f"{s.frames} frames detected  {s.fps:4.1f} fps  {s.detections} boxes  {s.open_items} items in view  "
        f"{s.alerts_built} alert messages  outbox {s.outbox_depth}  "
        + ("" if s.camera_ok else f"[red]camera: {s.camera}[/]  ")
        + ("[green]broker ok[/]" if s.broker_connected else "[red]broker down[/]"),
    )
    if radio is not None:
        t.add_row("radio link", "[green]up[/]" if radio.up else "[red]CUT: alerts wait on the drone[/]")
    t.add_row(
        "ground relay",
        f"received {int(relay.m_received._value.get())}  delivered {b.delivered}  backlog {b.count}"
        + (f"  [red]{relay.forwarder.last_error}[/]" if relay.forwarder.failures else ""),
    )
    t.add_row("cloud", watch.error or f"{len(watch.items)} debris items on the map")
    return t


def finds_table(items: list[dict], limit: int = 6) -> Table:
    t = Table(title="latest finds in the cloud, as inspectors see them", title_justify="left", min_width=60)
    for col in ("class", "score", "position", "seen", "status"):
        t.add_column(col)
    for it in sorted(items, key=lambda i: i.get("first_seen") or "", reverse=True)[:limit]:
        t.add_row(
            str(it.get("class")),
            f"{it.get('top_score') or 0:.3f}",
            f"{it['lat']:.6f}, {it['lon']:.6f}",
            f"{it.get('sightings')} frames",
            str(it.get("status")),
        )
    return t


def flight_line(logged: Path, sent: Path | None, speedup: float = 1.0) -> str:
    """What the ground station logged of the flight, and what the cloud made of it. The flight is
    timed by the vehicle's clock; a simulator flying ``speedup``x shows it took less time here."""
    p = json.loads(logged.read_text())["properties"]
    used = f", battery {p['battery_used_pct']:g}% used" if p["battery_used_pct"] is not None else ""
    minutes = p["duration_s"] / 60
    here = f" (simulated at {speedup:g}x: {minutes / speedup:.1f} min here)" if speedup != 1 else ""
    line = (
        f"flight logged ({logged.name}): {minutes:.1f} min{here}, {p['distance_m'] / 1000:.2f} km, "
        f"{len(p['waypoints_reached'])} of {p['mission_count']} waypoints{used}"
    )
    if sent is not None and sent.exists():
        stretches = ", ".join(json.loads(sent.read_text())["segments"]) or "none"
        return line + f"; in the cloud as patrolling {stretches} (CIM layer /ogc/collections/flights)"
    return line + "; [yellow]not yet in the cloud[/] (the relay sends it when it can)"


def score_table(score: PatrolScore) -> Table:
    title = "finds against the simulator's ground truth (items >= 0.3 m)"
    t = Table(title=title, title_justify="left", min_width=60)
    t.add_column("class")
    t.add_column("passed", justify="right")
    t.add_column("alerted", justify="right")
    for kind in sorted(score.passed_by_class):
        t.add_row(kind, str(score.passed_by_class[kind]), str(score.found_by_class.get(kind, 0)))
    t.add_row("[bold]all[/]", str(score.items_passed), str(score.items_found))
    return t


def _logging_to(path: Path) -> None:
    """Every component's log lines go to the work folder, not over the live screen."""
    configure_logging("INFO", path=path)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll of the cloud says nothing


def missing_extras() -> list[str]:
    """The demo's packages beyond the drone's install that are not installed."""
    import importlib.util

    return [m for m in ("amqtt", "apprise", "pywebpush") if importlib.util.find_spec(m) is None]


def run_demo(o: DemoOptions, console: Console | None = None) -> int:
    """Fly the demo patrol through the whole data path; returns a process exit code."""
    console = console or Console()
    if missing := missing_extras():
        console.print(
            f"[red]riverpatrol demo also runs the cloud service and an MQTT broker; missing: "
            f"{', '.join(missing)}.[/] Install them with: pip install -e '.[demo]'"
        )
        return 2
    import contract.mavlink  # noqa: F401
    from cloud.integrations_config import SegmentConfig
    from cloud.settings import CloudSettings
    from edge.agent import EdgeAgent
    from edge.settings import EdgeSettings
    from ground_station.hostport import parse_hostport
    from ground_station.mavlink import VehicleClient
    from ground_station.missions.geofence import FENCE_ACTION_SAYS, upload_fence
    from ground_station.relay.service import Relay, RelayConfig, wait_until
    from ground_station.settings import GcsSettings
    from riverpatrol.demo.broker import EmbeddedBroker
    from riverpatrol.demo.cloud_server import ServedCloud
    from riverpatrol.demo.faults import PatrolFaults
    from riverpatrol.demo.follower import FlightFollower
    from riverpatrol.demo.radio import RadioLink
    from riverpatrol.demo.simulator import SimProcess

    home = (defaults.HOME_LAT, defaults.HOME_LON)
    try:
        plan, items = plan_items(o.segment, home, o)
    except ValueError as e:  # an unknown segment; an altitude, speed or route the planner refuses
        console.print(f"[red]cannot plan the patrol: {e}[/]")
        return 2
    work = o.workdir or Path(tempfile.mkdtemp(prefix="riverpatrol-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    _logging_to(work / "demo.log")
    console.print(
        f"[bold]RiverPatrol demo[/] — patrol of [cyan]{plan.reach.name}[/]: {plan.passes} pass(es), "
        f"{len(plan.waypoints)} waypoints, {plan.route_length_m / 1000:.2f} km at {o.alt_m:g} m, "
        f"simulated at {o.speedup:g}x; river seeded with debris (seed {o.seed}, {o.look} look)"
    )
    console.print(f"work folder {work} (databases, outboxes, ground truth, demo.log)")

    stack: list = []  # started parts, stopped in reverse order
    station_token, inspector_token = secrets.token_urlsafe(16), secrets.token_urlsafe(9)
    try:
        if o.broker:
            mqtt_host, mqtt_port = parse_hostport(o.broker)
            protocol = "5"
        else:
            broker = EmbeddedBroker().start()
            stack.append(broker)
            mqtt_host, mqtt_port, protocol = broker.host, broker.port, "3.1.1"
        console.print(f"MQTT broker on {mqtt_host}:{mqtt_port}" + ("" if o.broker else " (embedded amqtt)"))
        radio = None
        drone_mqtt = (mqtt_host, mqtt_port)
        if o.link_outage:  # the drone reaches the broker over a link the demo can cut
            radio = RadioLink(mqtt_host, mqtt_port).start()
            stack.append(radio)
            drone_mqtt = (radio.host, radio.port)
            console.print(
                f"the drone's radio link to the broker will be cut from {o.link_outage.start:g} s to "
                f"{o.link_outage.end:g} s of the patrol"
            )

        cloud = ServedCloud(
            CloudSettings(
                data_dir=work / "cloud",
                station_tokens={STATION: station_token},
                inspector_tokens={INSPECTOR: inspector_token},
                segments=[SegmentConfig(id=plan.reach.name, inspectors=[INSPECTOR])],
                log_level="WARNING",
            ),
            port=o.cloud_port,
        ).start()
        stack.append(cloud)
        console.print(
            f"cloud up: inspectors' page [link]{cloud.url}/inspector/[/link] "
            f"(sign in as [bold]{INSPECTOR}[/], token [bold]{inspector_token}[/]); "
            f"CIM layer {cloud.url}/ogc/collections"
        )

        relay = Relay(
            RelayConfig(
                db_path=work / "relay.db",
                cloud_url=cloud.url,
                token=station_token,
                mqtt_host=mqtt_host,
                mqtt_port=mqtt_port,
                client_id="riverpatrol-demo-relay",
                mqtt_protocol=protocol,
                logbook_dir=work / "gcs" / "logbook",  # the flight, logged by the follower below
                flights_every_s=1.0,
            )
        )
        relay.start()
        stack.append(relay)
        if not relay.connected.wait(15):
            console.print(f"[red]the ground relay could not subscribe at {mqtt_host}:{mqtt_port}[/]")
            return 1

        sim = SimProcess(sim_spec(o, work, o.tcp_port))
        with waiting(console, "starting the simulator (vehicle and camera) ..."):
            sim.start()
        stack.append(sim)
        if sim.note:
            console.print(f"[yellow]{sim.note}[/]")
        faults = PatrolFaults(
            sim, radio, o.link_outage, o.camera_blackout, o.frame_loss_pct, o.frame_corrupt_pct
        )
        if announcement := faults.announce():
            console.print(announcement)
        url = f"tcp:127.0.0.1:{sim.tcp_port}"
        console.print(
            f"simulator up: MAVLink on {url} (MAVProxy/QGroundControl can connect too), "
            f"camera feed sim://127.0.0.1:{sim.feed_port}"
        )
        agent = EdgeAgent(
            EdgeSettings(
                mavlink=url,
                link_timeout=2.0,
                camera=f"sim://127.0.0.1:{sim.feed_port}",
                broker_host=drone_mqtt[0],
                broker_port=drone_mqtt[1],
                outbox_path=work / "edge_outbox.db",
                drone_id="drone-1",
                mission_id=f"demo-{plan.reach.name}",
            )
        ).start()
        stack.append(agent)
        watch = CloudWatch(cloud.url).start()
        stack.append(watch)

        gcs = VehicleClient.connect(url, heartbeat_timeout=15.0, timeout=2.0)
        try:
            with waiting(console, "uploading the patrol and its geofence ..."):
                gcs.upload_mission(items)
                station = GcsSettings.model_fields  # the ground station's defaults, as `gcs mission upload`
                action = station["fence_action"].default
                upload_fence(gcs, plan.fence_polygons(), station["max_alt_m"].default, action)
            console.print(
                f"mission uploaded and verified: {len(items)} items; geofence on: {len(plan.fence)} corners"
                f" {plan.options.fence_margin_m:g} m around the route (a breach: {FENCE_ACTION_SAYS[action]})"
            )
            follower = FlightFollower(url, work / "gcs", "drone-1").start()  # as `gcs mission watch`
            stack.append(follower)
            with waiting(console, "waiting for the position estimate (PreArm: Need Position Estimate) ..."):
                gcs.wait_armable(120.0)
            gcs.set_mode("GUIDED")
            armed = gcs.arm()
            if not armed.accepted:
                console.print(f"[red]arming refused:[/] {armed.reason or armed.result_name}")
                return 1
            gcs.takeoff(o.alt_m)
            climbed = lambda: (agent.telemetry.snapshot().alt_rel_m or 0.0) > o.alt_m * 0.8  # noqa: E731
            if not wait_until(climbed, 60.0):
                raise TimeoutError(f"the vehicle did not climb to {o.alt_m * 0.8:g} m within 60 s")
            gcs.start_mission()
        finally:
            gcs.close()
        t0 = time.monotonic()
        total = len(items)

        def screen() -> Group:
            return Group(
                patrol_panel(agent.telemetry.snapshot(), total, time.monotonic() - t0, url),
                pipeline_table(agent, relay, watch, sim, o.feed_size, radio),
                finds_table(watch.items, limit=5),
            )

        def status() -> str:
            s = agent.status()
            return status_line(
                time.monotonic() - t0, agent.telemetry.snapshot(), total, s.frames, s.alerts_built,
                relay.outbox.backlog().count, len(watch.items),
            )  # fmt: skip

        # at a terminal one live screen; in a log or pipe plain lines as things happen, the screen at the end
        live = Live(screen(), console=console, refresh_per_second=2) if console.is_terminal else None
        plain = PlainProgress()
        stopped_early = False
        try:
            with live or nullcontext():
                airborne_seen = False
                while True:
                    time.sleep(0.5)
                    v = agent.telemetry.snapshot()
                    airborne = (v.alt_rel_m or 0.0) > 5
                    faults.tick(time.monotonic() - t0, agent, airborne)
                    if live is not None:
                        live.update(screen())
                    else:
                        for line in plain.lines(time.monotonic() - t0, status, watch.items):
                            console.print(line, highlight=False, soft_wrap=True)
                    airborne_seen = airborne_seen or airborne
                    if airborne_seen and not v.armed:
                        break
                    if o.duration_s and time.monotonic() - t0 > o.duration_s:
                        break
        except KeyboardInterrupt:
            stopped_early = True
        if live is None:
            console.print(screen())
        landed = not agent.telemetry.snapshot().armed

        faults.end()  # the patrol may have ended inside a window
        with waiting(console, "ending the flight: open items end, their alerts reach the cloud ..."):
            stack.remove(watch)
            watch.stop()
            stack.remove(agent)
            agent.stop()  # ends open items and drains its outbox into the broker
            sent = agent.registry.get_sample_value("riverpatrol_edge_alerts_sent_total") or 0.0
            relayed = lambda: relay.m_received._value.get() >= sent and relay.outbox.backlog().count == 0  # noqa: E731
            wait_until(relayed, 20)
            finds = watch.poll()
            stack.remove(follower)
            flight = follower.stop()  # landed: logged, and the relay takes it to the cloud
            flight_sent = flight.with_name(flight.name + ".sent") if flight else None
            if flight_sent is not None:
                wait_until(flight_sent.exists, 15)
            drone_sent = lambda: sorted((work / "gcs" / "logbook").glob("*.drone.geojson.sent"))  # noqa: E731
            if landed:  # the drone's own record of the flight, sent by its agent at landing
                wait_until(lambda: bool(drone_sent()), 15)
        stack.remove(sim)
        sim.stop()  # its truth file and fault counts are complete now
        with (work / "truth.jsonl").open() as lines:
            truth = [json.loads(line) for line in lines if line.strip()]
        score = score_patrol(
            truth,
            [Find(i["id"], str(i.get("class")), i["lat"], i["lon"]) for i in finds],
        )
        console.print(score_table(score))
        recall = f"{score.recall:.0%}" if score.recall is not None else "-"
        console.print(
            f"[green]done[/]: vehicle {'landed' if landed else 'still flying'}; {agent.frames_done} frames "
            f"detected, {int(sent)} alert messages sent, {int(relay.m_received._value.get())} relayed, "
            f"[bold]{len(finds)} debris items in the cloud[/]; {score.items_found} of {score.items_passed} "
            f"items passed alerted ({recall}), class right {score.class_right}, "
            f"{score.false_alerts} alerts near no debris"
        )
        if flight is not None:
            console.print(flight_line(flight, flight_sent, o.speedup))
        if drone_sent():
            in_cloud = len(httpx.get(f"{cloud.url}/api/v1/flights", timeout=10).json()["features"])
            console.print(
                f"the drone logged the flight too ({drone_sent()[-1].name.removesuffix('.sent')}); the cloud"
                f" keeps one record a flight: {in_cloud} flight(s) at /api/v1/flights"
            )
        for line in faults.summary(agent):
            console.print(line)
        if score.frames_per_item is not None:
            console.print(
                f"each item passed was in full view in {score.frames_per_item:g} frames (median); the "
                "detector's own figures, per frame and per patrol: models/MODEL_CARD.md"
            )
        serve = o.serve if o.serve is not None else (sys.stdout.isatty() and not stopped_early)
        if serve:
            console.print(
                f"the cloud keeps serving: open [link]{cloud.url}/inspector/[/link] (sign in as "
                f"[bold]{INSPECTOR}[/], token [bold]{inspector_token}[/]) to see each find with its photo "
                f"and mark it cleared; the CIM layer at {cloud.url}/ogc/collections/debris/items "
                "shows the change. Ctrl-C to stop."
            )
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
        return 0
    except (OSError, RuntimeError) as e:  # TimeoutError is an OSError
        console.print(f"[red]demo stopped: {e}[/] (details in {work / 'demo.log'})")
        log.exception("demo stopped")
        return 1
    except KeyboardInterrupt:
        console.print("stopped before the patrol began")
        return 130
    finally:
        for part in reversed(stack):
            try:
                part.stop()
            except Exception:  # stopping the rest matters more than one part's complaint
                log.exception("stopping %s", type(part).__name__)
