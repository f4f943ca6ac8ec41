"""The long-running edge agent: camera, telemetry and MQTT threads around one per-frame loop.

Threads, and why each exists:

* ``telemetry-link`` (``edge.telemetry``): MAVLink state and the pose history frames are geotagged from.
* ``frames``: reads the frame source into a one-slot mailbox; when the loop is slower than the
  camera the older frame is dropped (counted) so geotags are never stale.
* ``edge-loop``: the only thread touching the tracker: frames through ``FramePipeline``, fleet
  alerts (queued by the MQTT thread) into ``tracker.learn_remote``, telemetry once a second.
* MQTT (``edge.mqtt_link``): the outbox is the only copy of an unsent alert; it drains at QoS 1.

``stop()`` (SIGTERM in the CLI) ends open items, queues their ``end`` alerts, waits up to
``shutdown_flush_s`` for the broker to acknowledge them, and leaves the rest in the outbox for
the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from contract.camera import CameraModel, CameraMount
from contract.messages import Alert, Flight, Telemetry
from contract.rivers import read_rivers
from edge.alerts import SnapshotConfig
from edge.detect import Detector, DetectorConfig
from edge.detect.classes import debris_classes, parse_name_map
from edge.detect.config import DEFAULT_MODEL
from edge.frames import CapturedFrame, FrameSource, open_source
from edge.geolocate import GeoConfig
from edge.mqtt_link import LinkConfig, MqttLink
from edge.outbox import HeldAlerts, Outbox
from edge.pipeline import FramePipeline, WaterLevel
from edge.settings import EdgeSettings
from edge.telemetry.link import TelemetryLink
from edge.telemetry.pose import PoseUnavailable
from edge.telemetry.state import latest_warning
from edge.tracker import Tracker, TrackerConfig

log = logging.getLogger(__name__)


def link_config(settings: EdgeSettings) -> LinkConfig:
    """The drone's MQTT link as its settings say: broker, login, TLS; quick to reconnect."""
    return LinkConfig(
        drone_id=settings.drone_id,
        host=settings.broker_host,
        port=settings.broker_port,
        tls=settings.broker_tls,
        ca_file=settings.broker_ca_file or None,
        username=settings.broker_username or None,
        password=settings.broker_password or None,
        reconnect_min_s=0.2,
        reconnect_max_s=2.0,
    )


#: The tracker's counts an operator watches (``riverpatrol_edge_tracker{kind=...}``): sightings it
#: refused as malformed, tracks that became items, items a closer look renamed, ...
TRACKER_COUNTS = (
    "sightings",
    "rejected",
    "tracks_started",
    "tracks_confirmed",
    "remote_learned",
    "renamed_by_closer_look",
    "kept_apart_by_river",
    "items_forgotten",
)


class AgentMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        p = "riverpatrol_edge_"
        self.frames = Counter(p + "frames", "Frames processed by the pipeline", registry=registry)
        self.frames_dropped = Counter(
            p + "frames_dropped", "Frames dropped because the loop was busy", registry=registry
        )
        self.frames_rejected = Counter(
            p + "frames_rejected", "Frames skipped by the pipeline", ["reason"], registry=registry
        )
        self.detections = Counter(p + "detections", "Detector boxes", registry=registry)
        self.step_seconds = Histogram(
            p + "frame_step_seconds",
            "Per-frame pipeline time",
            buckets=(0.01, 0.02, 0.033, 0.05, 0.1, 0.2, 0.5, 1, 2),
            registry=registry,
        )
        self.open_tracks = Gauge(p + "open_tracks", "Image-space tracks alive", registry=registry)
        self.open_items = Gauge(p + "open_items", "Items seen and not yet ended", registry=registry)
        self.healthy = Gauge(
            p + "healthy", "1 when camera, telemetry and broker are all fine", registry=registry
        )
        self.camera_frame_age = Gauge(
            p + "camera_frame_age_seconds", "Seconds since the camera gave a frame", registry=registry
        )
        self.camera_reconnects = Gauge(
            p + "camera_reconnects", "Times the camera came back after it was lost", registry=registry
        )
        self.alerts_held = Gauge(
            p + "alerts_held", "Alerts held in memory while the outbox cannot be written", registry=registry
        )
        self.tracker = Gauge(
            p + "tracker",
            "What the tracker did since the start, by kind (edge.tracker.TrackerStats)",
            ["kind"],
            registry=registry,
        )


@dataclass(frozen=True, slots=True)
class AgentStatus:
    """What the status line shows."""

    fps: float
    frames: int
    detections: int
    open_tracks: int
    open_items: int
    alerts_built: int
    alerts_sent: float
    outbox_depth: int
    alerts_held: int  # in memory: the outbox could not write them (``HeldAlerts``)
    broker_connected: bool
    broker_flapping: str  # why the broker keeps closing the link, while it does; else ""
    vehicle_link: str
    camera: str  # "ok", "ended", or "no frame for N s"
    frames_rejected: int
    last_skip: str

    @property
    def camera_ok(self) -> bool:
        return self.camera == "ok"

    @property
    def broker(self) -> str:
        """The broker link in a word: "flapping" (it keeps closing us), "up" or "offline"."""
        return "flapping" if self.broker_flapping else "up" if self.broker_connected else "offline"


def camera_state(ended: bool, frame_age_s: float, stall_s: float) -> str:
    """What health says of the camera: a source that has ended, or has stalled, is not "ok"."""
    if ended:
        return "ended"
    if frame_age_s >= stall_s:
        return f"no frame for {frame_age_s:.0f} s"
    return "ok"


def geo_config(settings: EdgeSettings) -> GeoConfig:
    camera = CameraModel.load(settings.calibration) if settings.calibration else CameraModel.default()
    mount = CameraMount(pitch_deg=settings.gimbal_pitch_deg, stabilized=settings.gimbal_stabilized)
    return GeoConfig(camera=camera, mount=mount)


class EdgeAgent:
    """Build with settings (fails fast on a bad model or camera), ``start()``, ``stop()``."""

    def __init__(self, settings: EdgeSettings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry or CollectorRegistry()
        self.metrics = AgentMetrics(self.registry)
        # RiverDataError: a rivers file that cannot be read (before the model loads, for nothing)
        rivers = read_rivers(settings.rivers_file) if settings.rivers_file else None
        self.detector = Detector(
            DetectorConfig(
                model_path=settings.model or DEFAULT_MODEL,
                threads=settings.detector_threads,
                score_threshold=settings.score_threshold,
                verifier="auto" if settings.verifier else "off",
            )
        )  # ModelLoadError: missing or wrong model
        # ClassMapError: a model class that is no debris class, unmapped (would fail every alert)
        self.debris_classes = debris_classes(self.detector.names, parse_name_map(settings.class_map))
        self.geo = geo_config(settings)
        self.outbox = Outbox(settings.outbox_path)  # OutboxOpenError: before a camera is opened for nothing
        self.source: FrameSource = open_source(  # CameraOpenError
            settings.camera, settings.camera_reopen_s, settings.camera_timeout_s, settings.camera_latency_s
        )
        self._last_frame_at = time.monotonic()  # the start, until the first frame
        self.metrics.camera_frame_age.set_function(self.camera_frame_age)
        self.metrics.camera_reconnects.set_function(lambda: self.source.reconnects)
        self.snapshot_cfg = SnapshotConfig()
        self.tracker = Tracker(
            TrackerConfig(drone_id=settings.drone_id, rivers=rivers), _snapshotter(self.snapshot_cfg)
        )
        for kind in TRACKER_COUNTS:
            self.metrics.tracker.labels(kind=kind).set_function(lambda k=kind: getattr(self.tracker.stats, k))
        self.pipeline = FramePipeline(
            self.detector,
            self.tracker,
            self.geo,
            settings.drone_id,
            settings.mission_id,
            WaterLevel(settings.home_is_water_level, settings.water_alt_msl),
            settings.min_alt_m,
            self.snapshot_cfg,
            debris_classes=self.debris_classes,
        )
        self._remote: queue.SimpleQueue[Alert] = queue.SimpleQueue()
        self.link = MqttLink(
            link_config(settings),
            self.outbox,
            on_remote_alert=self._remote.put,
            registry=self.registry,
        )
        self.held = HeldAlerts(self.link.enqueue)  # written ahead of later alerts once the disk takes them
        #: Landed flights' records (``edge.telemetry.logbook``), held the same way.
        self.held_flights = HeldAlerts(self.link.enqueue_flight)
        self.metrics.alerts_held.set_function(lambda: len(self.held) + len(self.held_flights))
        # the flight in the air is checkpointed beside the outbox: a restart in flight goes on with it
        checkpoint = settings.outbox_path.with_name(settings.outbox_path.name + ".flight.json")
        self.telemetry = TelemetryLink(settings, on_flight=self._flight_landed, flight_checkpoint=checkpoint)
        self._mailbox: queue.Queue[CapturedFrame] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_t = 0.0
        self._fps_window: list[float] = []
        self.last_skip = ""
        self.alerts_this_flight = 0
        self._counting_since: float | None = None  # the take-off alerts_this_flight counts from
        self.frames_done = 0
        self.camera_ended = threading.Event()
        self.error: BaseException | None = None
        self.outbox_depth_at_stop = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> EdgeAgent:
        self.telemetry.start()
        self.link.start()
        for target, name in ((self._read_frames, "frames"), (self._loop, "edge-loop")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)
        log.info(
            "edge agent started drone=%s camera=%s mavlink=%s broker=%s:%d",
            self.settings.drone_id,
            self.settings.camera,
            self.settings.mavlink,
            self.settings.broker_host,
            self.settings.broker_port,
        )
        return self

    def stop(self) -> None:
        """End open items, queue their alerts, give the broker ``shutdown_flush_s`` to take them."""
        self._stop.set()
        for th in self._threads:
            th.join(10)
        payloads = self.pipeline.finish(max(self._last_t, 0.0), datetime.now(UTC)) if self._last_t else []
        for p in payloads:
            self._enqueue(p)
        for held, what in ((self.held, "alert(s)"), (self.held_flights, "flight record(s)")):
            if held:
                log.error(
                    "edge agent stopping with %d %s the outbox could not write (%s): they are lost",
                    len(held),
                    what,
                    held.error,
                )
        drained = self.link.wait_idle(self.settings.shutdown_flush_s)
        depth = self.outbox.depth()
        self.outbox_depth_at_stop = depth
        self.link.stop()
        self.telemetry.stop()
        self.source.close()
        self.outbox.close()
        log.info(
            "edge agent stopped: outbox %s (%d alerts kept for the next start)",
            "drained" if drained else "NOT drained",
            depth,
        )

    # -- state for the CLI, metrics and tests ----------------------------------------------------

    def detect_fps(self) -> float:
        """Frames through the pipeline per second over the last 5 s."""
        now = time.monotonic()
        recent = [t for t in self._fps_window if now - t < 5.0]
        return len(recent) / min(5.0, max(now - recent[0], 1e-3)) if len(recent) > 1 else 0.0

    def frames_rejected(self) -> int:
        """Frames the source could not read (corrupt, malformed) and frames the pipeline skipped."""
        return sum(self.source.rejected.values()) + sum(self.pipeline.stats.skipped.values())

    def camera(self) -> str:
        """The camera as health sees it: "ok", "ended" or "no frame for N s" (``camera_state``)."""
        return camera_state(self.camera_ended.is_set(), self.camera_frame_age(), self.settings.camera_stall_s)

    def status(self) -> AgentStatus:
        h = self.link.health()
        return AgentStatus(
            fps=self.detect_fps(),
            frames=self.frames_done,
            detections=self.pipeline.stats.detections,
            open_tracks=self.tracker.active_tracks,
            open_items=self.tracker.open_items,
            alerts_built=self.alerts_this_flight,
            alerts_sent=self.registry.get_sample_value("riverpatrol_edge_alerts_sent_total") or 0.0,
            outbox_depth=h.outbox_depth,
            alerts_held=len(self.held),
            broker_connected=h.connected,
            broker_flapping=h.flapping,
            vehicle_link=str(self.telemetry.health()["status"]),
            camera=self.camera(),
            frames_rejected=self.frames_rejected(),
            last_skip=self.last_skip,
        )

    def health(self) -> dict:
        s = self.status()
        held = s.alerts_held
        ok = s.broker == "up" and s.vehicle_link == "ok" and s.camera_ok and self.error is None and not held
        outbox = f"cannot be written ({self.held.error}): {held} alert(s) held in memory" if held else "ok"
        self.metrics.healthy.set(1 if ok else 0)
        return {
            "ok": ok,
            "broker": f"flapping, {s.outbox_depth} alerts queued: {s.broker_flapping}"
            if s.broker_flapping
            else "connected"
            if s.broker_connected
            else f"offline, {s.outbox_depth} alerts queued",
            "outbox": outbox,
            "vehicle": s.vehicle_link,
            "camera": s.camera,
            "error": repr(self.error) if self.error else None,
        }

    # -- threads --------------------------------------------------------------------------------

    def camera_frame_age(self) -> float:
        """Seconds since the camera last gave a frame (since the start, before the first)."""
        return time.monotonic() - self._last_frame_at

    def _read_frames(self) -> None:
        try:
            for f in self.source.frames(self._stop):
                self._last_frame_at = time.monotonic()
                try:
                    self._mailbox.put_nowait(f)
                except queue.Full:
                    try:
                        self._mailbox.get_nowait()
                        self.metrics.frames_dropped.inc()
                    except queue.Empty:
                        pass
                    self._mailbox.put_nowait(f)
        except Exception as e:  # pragma: no cover - a source bug: say so, the loop keeps the rest alive
            log.exception("frame source %s failed", self.source.name)
            self.error = e
        finally:
            self.camera_ended.set()
            if not self._stop.is_set():
                log.warning("camera %s ended", self.source.name)

    def _loop(self) -> None:
        next_telemetry = 0.0
        while not self._stop.is_set():
            try:
                frame = self._mailbox.get(timeout=0.2)
            except queue.Empty:
                frame = None
            self._learn_remote()
            self._count_from_take_off()
            if self.held:
                self.alerts_this_flight += self.held.retry()
            if self.held_flights:
                self.held_flights.retry()
            if frame is not None:
                try:
                    self._process(frame)
                except Exception as e:  # one bad frame must not end the agent
                    self.metrics.frames_rejected.labels(reason=type(e).__name__).inc()
                    self.last_skip = f"frame {frame.seq}: {e}"
                    log.warning("frame %d failed: %s", frame.seq, e)
            if time.monotonic() >= next_telemetry:
                next_telemetry = time.monotonic() + self.settings.telemetry_interval_s
                try:
                    self._publish_telemetry()
                except Exception as e:  # a summary that cannot be built must not end the agent
                    log.warning("telemetry summary not sent: %s", e)

    def _learn_remote(self) -> None:
        while True:
            try:
                alert = self._remote.get_nowait()
            except queue.Empty:
                return
            self.tracker.learn_remote(alert)

    def _frame_times(self, frame: CapturedFrame) -> tuple[float | None, float]:
        """(vehicle time, UTC) of a frame: from the feed when it says, else from the telemetry clock."""
        tb = frame.time_boot_s
        if tb is None:
            tb = self.telemetry.vehicle_time_at(frame.monotonic)
        utc = frame.utc
        if utc is None:
            state_utc = self.telemetry.snapshot().utc_at(tb) if tb is not None else None
            utc = state_utc if state_utc is not None else time.time() - (time.monotonic() - frame.monotonic)
        return tb, utc

    def _process(self, frame: CapturedFrame) -> None:
        started = time.perf_counter()
        tb, utc = self._frame_times(frame)
        if utc <= self._last_t:
            self.metrics.frames_rejected.labels(reason="out_of_order").inc()
            self.last_skip = f"frame {frame.seq}: capture time went backwards"
            return
        pose = None
        if tb is not None:
            try:
                pose = self.telemetry.pose_at(tb)
            except PoseUnavailable as e:
                self.last_skip = f"frame {frame.seq}: {e}"
        self.tracker.set_wind(self.telemetry.snapshot().wind_mps)  # a breeze blows debris across
        result = self.pipeline.step(frame.image, utc, pose, datetime.now(UTC))
        self._last_t = utc
        if result.skipped:
            self.metrics.frames_rejected.labels(reason="pose").inc()
            self.last_skip = f"frame {frame.seq}: {result.skipped}"
        for p in result.payloads:
            self._enqueue(p)
        self.frames_done += 1
        self.metrics.frames.inc()
        self.metrics.detections.inc(len(result.detections))
        self.metrics.open_tracks.set(self.tracker.active_tracks)
        self.metrics.open_items.set(self.tracker.open_items)
        self.metrics.step_seconds.observe(time.perf_counter() - started)
        self._fps_window = [*self._fps_window[-49:], time.monotonic()]

    def _enqueue(self, payload: bytes) -> None:
        """Into the outbox; an alert the disk will not take now is held until it does."""
        self.alerts_this_flight += self.held.put(payload)

    def _flight_landed(self, flight: Flight) -> None:
        """The drone's record of a flight that just landed, into the outbox (the link thread calls)."""
        self.held_flights.put(flight.model_dump_json().encode())

    def _count_from_take_off(self) -> None:
        """A new take-off (the drone's logbook saw it) starts ``alerts_this_flight`` again: a drone
        flying several sorties without a restart shows each flight's alerts, not the day's."""
        took_off = self.telemetry.flights.recorder.armed_at
        if took_off is not None and took_off != self._counting_since:
            self._counting_since, self.alerts_this_flight = took_off, 0

    def _publish_telemetry(self) -> None:
        s = self.telemetry.snapshot()
        if s.lat is None or s.lon is None:
            return
        utc = s.utc_at(s.time_boot_s) if s.time_boot_s is not None else None
        t = Telemetry(
            drone_id=self.settings.drone_id,
            time=datetime.fromtimestamp(utc if utc is not None else time.time(), UTC),
            lat=s.lat,
            lon=s.lon,
            alt_rel_m=s.alt_rel_m or 0.0,
            heading_deg=(s.heading_deg if s.heading_deg is not None else s.yaw_deg or 0.0) % 360,
            groundspeed_mps=s.groundspeed_mps or 0.0,
            battery_pct=s.battery_remaining_pct,
            gps_fix=s.gps_fix_type or 0,
            satellites=s.gps_satellites or 0,
            mode=s.mode or "UNKNOWN",
            armed=s.armed,
            mission_item=s.mission_seq,
            mission_count=s.mission_total,
            link_ok=s.link_up,
            outbox_backlog=self.outbox.depth(),
            alerts_this_flight=self.alerts_this_flight,
            camera=self.camera(),
            detect_fps=round(self.detect_fps(), 1),
            warning=latest_warning(s.statustexts, time.monotonic(), self.settings.warning_shown_s),
            board_id=s.board_id,
            wind_mps=None if s.wind_mps is None else round(s.wind_mps, 1),
            wind_from_deg=None if s.wind_from_deg is None else round(s.wind_from_deg) % 360,
        )
        self.link.publish_telemetry(t)


def _snapshotter(cfg: SnapshotConfig):
    from edge.alerts import snapshotter

    return snapshotter(cfg)
