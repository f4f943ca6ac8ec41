"""One frame's way through the agent: detect -> geolocate -> track -> alert payloads.

Pure apart from the detector's inference: no sockets, no clocks (the caller passes the capture
time and the publish time), so the benchmark and the tests drive exactly what the agent runs.
The caller puts the returned payloads into the outbox / MQTT link.

Heights: geolocation needs the camera's height above the WATER. With ``water_alt_msl`` set it
is ``alt_msl - water_alt_msl``; otherwise, with ``home_is_water_level`` (the drone took off from
the bank, the simulator's convention), it is the altitude above home.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from contract.camera import CameraPose
from edge.alerts import SnapshotConfig, alert_payload, build_alert
from edge.detect.classes import to_debris
from edge.detect.detection import Detection
from edge.geolocate import GeoConfig, GeoFix, geolocate_box, ground_sample_distance
from edge.telemetry.pose import Pose
from edge.tracker import Sighting, Tracker, TrackEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WaterLevel:
    """How to turn the vehicle's altitude into height above the water (see module doc)."""

    home_is_water_level: bool = True
    water_alt_msl: float | None = None

    def height_above_water(self, pose: Pose) -> float | None:
        if self.water_alt_msl is not None:
            return pose.alt_msl_m - self.water_alt_msl
        return pose.alt_rel_m if self.home_is_water_level else None


def camera_pose(pose: Pose, water: WaterLevel, min_alt_m: float) -> CameraPose | str:
    """The ``CameraPose`` for a vehicle pose, or why none can be used (too low, unknown water)."""
    h = water.height_above_water(pose)
    if h is None:
        return "height above the water unknown: set water_alt_msl or home_is_water_level"
    if h < min_alt_m:
        return f"{h:.1f} m above the water, below min_alt_m={min_alt_m:g}"
    return CameraPose(
        lat=pose.lat,
        lon=pose.lon,
        alt_m=h,
        roll_deg=pose.roll_deg,
        pitch_deg=pose.pitch_deg,
        yaw_deg=pose.yaw_deg,
    )


@dataclass(slots=True)
class StepResult:
    detections: list[Detection]
    sightings: list[Sighting]
    events: list[TrackEvent]
    payloads: list[bytes]
    skipped: str | None = None  # why the frame was not used, when it was not


@dataclass(slots=True)
class PipelineStats:
    frames: int = 0
    detections: int = 0
    sightings: int = 0
    alerts: int = 0
    alert_bytes: list[int] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    no_ground: int = 0
    left_out: int = 0  # detections of a model class left out of alerts (class map)


class FramePipeline:
    """Detector + geolocation + tracker + alert building for one drone and mission."""

    def __init__(
        self,
        detector: object,
        tracker: Tracker,
        geo: GeoConfig,
        drone_id: str,
        mission_id: str,
        water: WaterLevel | None = None,
        min_alt_m: float = 3.0,
        snapshot_cfg: SnapshotConfig | None = None,
        keep_alert_sizes: int = 10_000,
        debris_classes: Sequence[str | None] | None = None,
    ) -> None:
        """``debris_classes``: the contract's debris class of each model class, None to leave it out
        (``edge.detect.classes.debris_classes``); None: the model's names are the contract's."""
        self.detector = detector
        self.tracker = tracker
        self.geo = geo
        self.drone_id = drone_id
        self.mission_id = mission_id
        self.water = water or WaterLevel()
        self.min_alt_m = min_alt_m
        self.snapshot_cfg = snapshot_cfg or SnapshotConfig()
        self.stats = PipelineStats()
        self._keep = keep_alert_sizes
        self._geo_by_size: dict[tuple[int, int], GeoConfig] = {}
        self.debris_classes = tuple(debris_classes) if debris_classes is not None else None

    def geo_for(self, width: int, height: int) -> GeoConfig:
        """``GeoConfig`` with the calibration scaled to the frame size (cached per size)."""
        key = (width, height)
        if key not in self._geo_by_size:
            cam = self.geo.camera
            scaled = cam if (cam.width, cam.height) == key else cam.scaled(width, height)
            self._geo_by_size[key] = replace(self.geo, camera=scaled)
        return self._geo_by_size[key]

    def step(self, image: np.ndarray, t: float, pose: Pose | None, now: datetime) -> StepResult:
        """Process one frame captured at ``t`` (UTC seconds) seen from ``pose``.

        ``pose`` None (no trustworthy pose) still advances the tracker's clock, so items end.
        """
        self.stats.frames += 1
        cam_pose = camera_pose(pose, self.water, self.min_alt_m) if pose is not None else "no pose"
        if isinstance(cam_pose, str):
            self.stats.skipped["no_pose" if pose is None else "pose_unusable"] += 1
            events = self.tracker.tick(t)
            return StepResult([], [], events, self._alerts(events, now), skipped=cam_pose)
        h, w = image.shape[:2]
        geo = self.geo_for(w, h)
        # the frame's ground scale: the detector runs it at its model's (other altitudes, cameras)
        gsd = ground_sample_distance(cam_pose, geo)
        dets = self.detector.detect(image, gsd_m=gsd)  # type: ignore[attr-defined]
        if self.debris_classes is not None:
            kept = to_debris(dets, self.debris_classes)
            self.stats.left_out += len(dets) - len(kept)
            dets = kept
        sightings = []
        for d in dets:
            fix = geolocate_box(d.box, cam_pose, geo)
            if isinstance(fix, GeoFix):
                sightings.append(Sighting.of(d, fix))
            else:
                self.stats.no_ground += 1
        self.stats.detections += len(dets)
        self.stats.sightings += len(sightings)
        events = self.tracker.update(t, sightings, frame=image, frame_size=(w, h))
        return StepResult(dets, sightings, events, self._alerts(events, now))

    def finish(self, t: float, now: datetime) -> list[bytes]:
        """End every open item (mission over or agent stopping): their ``end`` alerts."""
        return self._alerts(self.tracker.flush(t), now)

    def alerts_for(self, events: list[TrackEvent], now: datetime) -> list[bytes]:
        return self._alerts(events, now)

    def _alerts(self, events: list[TrackEvent], now: datetime) -> list[bytes]:
        out = []
        for ev in events:
            try:
                payload = alert_payload(
                    build_alert(ev, self.drone_id, self.mission_id, now, self.snapshot_cfg),
                    self.snapshot_cfg.max_alert_bytes,
                )
            except ValueError as e:
                self.stats.skipped["bad_alert"] += 1
                log.warning("alert %s rev %d not built: %s", ev.alert_id, ev.revision, e)
                continue
            out.append(payload)
            self.stats.alerts += 1
            if len(self.stats.alert_bytes) < self._keep:
                self.stats.alert_bytes.append(len(payload))
        return out
