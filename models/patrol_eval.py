"""Alert-level evaluation: straight patrols over a synthetic river through the edge agent's pure core.

A detector's per-frame false detections overstate false alerts: the agent alerts only when a track
is confirmed over several frames. These helpers render a patrol (``sim.camera``), run detector ->
geolocation -> tracker -> alert build exactly as ``edge.pipeline`` does, and return the alerts, so
``models.build`` can choose its threshold on validation patrols and ``bench/alert_bench.py`` can
score held-out ones.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime

import numpy as np

from edge.tracker import TrackerConfig

MATCH_M = 5.0  # an alert within this of an item's true position is that item
# An item fully in view in fewer frames than this (at a patrol's first or last frames) cannot be
# alerted by any operating point: the tracker confirms a track on its min_hits-th hit.
PASSED_MIN_FRAMES: int = next(f.default for f in fields(TrackerConfig) if f.name == "min_hits")


def render_patrol(
    seed: int,
    frames: int,
    fps: float,
    speed: float,
    alt: float,
    debris: int,
    distractors: int | None = None,
    domain: str = "train",
):
    """JPEG frames, true poses, capture times and truth of a straight patrol up a river from home."""
    import cv2
    from rich.progress import track

    from contract.camera import CameraModel, CameraPose
    from contract.defaults import HOME_LAT, HOME_LON
    from contract.geo import offset
    from sim.camera import Renderer, RiverScene

    length = speed * frames / fps
    line = [offset(HOME_LAT, HOME_LON, n, 0.0) for n in (-60.0, length + 60.0)]
    scene = RiverScene(
        seed=seed,
        centerline=line,
        width_m=40.0,
        n_debris=debris,
        n_distractors=debris // 2 if distractors is None else distractors,
        domain=domain,  # type: ignore[arg-type]
    )
    renderer = Renderer(scene)
    cam = CameraModel.default()
    rng = np.random.default_rng(seed)
    out = []
    for i in track(range(frames), description="pre-rendering frames", transient=True):
        t = i / fps
        lat, lon = offset(HOME_LAT, HOME_LON, speed * t, 0.0)
        pose = CameraPose(
            lat=lat,
            lon=lon,
            alt_m=alt,
            roll_deg=float(rng.normal(0, 2.0)),
            pitch_deg=float(rng.normal(-3.0, 2.0)),  # nose down in forward flight
            yaw_deg=float(rng.normal(0, 1.0)),
        )
        f = renderer.render(pose, cam, t=t)
        jpeg = cv2.imencode(".jpg", f.image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        out.append((jpeg, pose, t, f.truth, f.distractors))
    return out


def detect_all(detector, data: list) -> list[list]:
    """The detector's output for every frame of a rendered patrol (one inference per frame)."""
    import cv2

    return [detector.detect(cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)) for j, *_ in data]


class CachedDetections:
    """Stands in for the detector inside the pipeline: one inference per frame, any threshold."""

    def __init__(self, per_frame: list[list], threshold: float) -> None:
        self.per_frame, self.threshold, self.i = per_frame, threshold, 0

    def detect(self, _image: np.ndarray) -> list:
        dets = [d for d in self.per_frame[self.i] if d.score >= self.threshold]
        self.i += 1
        return dets


def run_pipeline(data: list, dets: list[list], threshold: float, fps: float) -> list:
    """Alerts (last revision of each id) of one patrol at one threshold."""
    import cv2

    from contract.messages import Alert
    from edge.alerts import SnapshotConfig, snapshotter
    from edge.geolocate import GeoConfig
    from edge.pipeline import FramePipeline, WaterLevel
    from edge.telemetry.pose import Pose
    from edge.tracker import Tracker, TrackerConfig

    snap = SnapshotConfig()
    tracker = Tracker(TrackerConfig(drone_id="bench"), snapshotter(snap))
    pipe = FramePipeline(
        CachedDetections(dets, threshold), tracker, GeoConfig(), "bench", "m", WaterLevel(), 3.0, snap
    )
    t0 = datetime(2026, 5, 1, tzinfo=UTC).timestamp()
    payloads: list[bytes] = []
    blank = None
    for (jpeg, p, t, *_), frame_dets in zip(data, dets, strict=True):
        if blank is None or any(d.score >= threshold for d in frame_dets):
            img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            blank = np.zeros_like(img) if blank is None else blank
        else:  # nothing to track: only the frame's size is read, so skip the decode
            img = blank
        pose = Pose(0.0, p.lat, p.lon, p.alt_m, p.alt_m + 5.0, p.roll_deg, p.pitch_deg, p.yaw_deg, False)
        payloads += pipe.step(img, t0 + t, pose, datetime.now(UTC)).payloads
    payloads += pipe.finish(t0 + len(data) / fps + 1, datetime.now(UTC))
    return list({a.alert_id: a for a in (Alert.model_validate_json(x) for x in payloads)}.values())


@dataclass(frozen=True, slots=True)
class AlertScore:
    """Alerts of one or more patrols scored against the camera's ground truth."""

    alerts: int = 0
    unmatched: int = 0  # farther than MATCH_M from every debris item in view (any size)
    items_seen: int = 0  # items >= min_size_m fully visible (>= 80 %) in at least one frame
    items_alerted: int = 0
    items_passed: int = 0  # ... of them fully visible in >= PASSED_MIN_FRAMES frames: the patrol passed them
    items_passed_alerted: int = 0

    def __add__(self, other: AlertScore) -> AlertScore:
        return AlertScore(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def precision(self) -> float:
        return 1.0 - self.unmatched / self.alerts if self.alerts else float("nan")

    @property
    def recall(self) -> float:
        """Items alerted of all items seen, glimpses at a patrol's ends included."""
        return self.items_alerted / self.items_seen if self.items_seen else float("nan")

    @property
    def recall_passed(self) -> float:
        """Items alerted of the items the patrol flew past (fully in view >= ``PASSED_MIN_FRAMES`` frames)."""
        return self.items_passed_alerted / self.items_passed if self.items_passed else float("nan")


def assign_alerts(
    alerts: list[tuple[float, float]], items: dict[int, list[tuple[float, float]]], match_m: float = MATCH_M
) -> tuple[dict[int, int], dict[int, int], list[int]]:
    """One-to-one alert -> item assignment, closest pairs first (alert and item positions as lat/lon).

    Returns (alert index -> item id; duplicates: alert index -> its nearest item, for alerts within
    ``match_m`` of items that all already have an alert; stray: alerts farther than ``match_m``
    from every item).
    Nearest-item matching would call two alerts on two items 1 m apart a duplicate whenever the
    GNSS bias shifts both towards the same one; closest-pair assignment does not.
    """
    from contract.geo import distance_m

    pairs = []
    for ai, (la, lo) in enumerate(alerts):
        for item, pts in items.items():
            d = min(distance_m(la, lo, pa, po) for pa, po in pts)
            if d <= match_m:
                pairs.append((d, ai, item))
    pairs.sort()
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for _, ai, item in pairs:
        if ai not in matched and item not in taken:
            matched[ai] = item
            taken.add(item)
    duplicates: dict[int, int] = {}
    for _, ai, item in pairs:  # closest first: the first item seen for an alert is its nearest
        if ai not in matched:
            duplicates.setdefault(ai, item)
    stray = [ai for ai in range(len(alerts)) if ai not in matched and ai not in duplicates]
    return matched, duplicates, stray


def score_alerts(data: list, alerts: list, min_size_m: float = 0.3) -> AlertScore:
    """Assign alerts to truth items (``assign_alerts``); recall over items >= ``min_size_m``.

    ``unmatched`` counts alerts farther than ``MATCH_M`` from every debris item of any size.
    Recall is given twice: over every item fully in view in some frame, and over the items the
    patrol passed (fully in view in >= ``PASSED_MIN_FRAMES`` frames, not a glimpse at its ends).
    """
    positions: dict[int, list[tuple[float, float]]] = {}
    frames_in_view: Counter[int] = Counter()
    for *_, truth, _d in data:
        for b in truth:
            positions.setdefault(b.item_id, []).append((b.lat, b.lon))
            if b.visible_fraction >= 0.8 and b.size_m >= min_size_m:
                frames_in_view[b.item_id] += 1
    target = set(frames_in_view)
    passed = {i for i, n in frames_in_view.items() if n >= PASSED_MIN_FRAMES}
    matched, _dups, stray = assign_alerts([(a.lat, a.lon) for a in alerts], positions)
    hit = set(matched.values())
    return AlertScore(len(alerts), len(stray), len(target), len(hit & target), len(passed), len(hit & passed))


class PatrolSet:
    """Debris-free and littered straight patrols, rendered and detected once, scored at any threshold.

    ``models.build`` chooses its threshold on one (training look) and ``bench/alert_bench.py``
    scores another (held-out look); both ask ``at(t)`` for each threshold.
    """

    def __init__(
        self,
        detector,
        domain: str,
        clean_seeds: list[int],
        littered_seeds: list[int],
        clean_frames_each: int,
        littered_frames_each: int,
        debris: int = 30,
        distractors: int = 40,
        fps: float = 5.0,
        speed: float = 8.0,
        alt: float = 30.0,
    ) -> None:
        def fly(seed: int, frames: int, n_debris: int) -> tuple[list, list]:
            data = render_patrol(seed, frames, fps, speed, alt, n_debris, distractors, domain)
            return data, detect_all(detector, data)

        self.fps, self.speed, self.alt = fps, speed, alt
        self.clean = [fly(s, clean_frames_each, 0) for s in clean_seeds]
        self.littered = [fly(s, littered_frames_each, debris) for s in littered_seeds]
        self.clean_frames = len(clean_seeds) * clean_frames_each
        self.littered_frames = len(littered_seeds) * littered_frames_each

    def detect_with(self, detector) -> None:
        """Run another detector (or the same one re-configured) over the frames already rendered."""
        self.clean = [(d, detect_all(detector, d)) for d, _ in self.clean]
        self.littered = [(d, detect_all(detector, d)) for d, _ in self.littered]

    def at(self, threshold: float) -> tuple[int, AlertScore]:
        """(alerts on the debris-free patrols - all false, score of the littered patrols' alerts)."""
        false_alerts = sum(len(run_pipeline(d, dets, threshold, self.fps)) for d, dets in self.clean)
        score = AlertScore()
        for d, dets in self.littered:
            score += score_alerts(d, run_pipeline(d, dets, threshold, self.fps))
        return false_alerts, score
