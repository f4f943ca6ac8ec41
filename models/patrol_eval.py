"""Alert-level evaluation: straight patrols over a synthetic river through the edge agent's pure core.

A detector's per-frame false detections overstate false alerts: the agent alerts only when a track
is confirmed over several frames. These helpers render a patrol (``sim.camera``), run detector ->
geolocation -> tracker -> alert build exactly as ``edge.pipeline`` does, and return the alerts, so
``models.build`` can choose its threshold on validation patrols and ``bench/alert_bench.py`` can
score held-out ones.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import pickle
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import astuple, dataclass, fields, replace
from datetime import UTC, datetime
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from contract.messages import DEBRIS_CLASSES
from edge.detect.verify import combine
from edge.tracker import Tracker, TrackerConfig

if TYPE_CHECKING:
    from edge.detect.detector import Candidates

log = logging.getLogger("riverpatrol.models.patrol_eval")

ROOT = Path(__file__).resolve().parents[1]
#: Rendered patrols are kept here, one pickle each, keyed by their parameters and the renderer's
#: source: the same patrol renders the same frames (seeded), and rendering is the slowest part of
#: a bench (the validation patrols alone are 7,200 1080p frames, about half a second each on one core).
PATROL_CACHE = ROOT / "data" / "patrols"
#: Code whose change changes a rendered patrol (the key's source hash covers it, and ``render_patrol``).
RENDER_SOURCES = ("sim/camera", "contract/camera.py", "contract/geo.py")
MATCH_M = 5.0  # an alert within this of an item's true position is that item
# An item fully in view in fewer frames than this (at a patrol's first or last frames) cannot be
# alerted by any operating point: the tracker confirms a track on its min_hits-th hit.
PASSED_MIN_FRAMES: int = next(f.default for f in fields(TrackerConfig) if f.name == "min_hits")
#: A fresh tracker for one patrol from the snapshot function: ``functools.partial(Tracker, cfg)``,
#: or a subclass with another confirmation rule (``models.compare_tracking``).
TrackerFactory = Callable[[Callable | None], Tracker]


def default_tracker(snapshot: Callable | None) -> Tracker:
    """The edge agent's tracker with its default configuration."""
    return Tracker(TrackerConfig(drone_id="bench"), snapshot)


def render_patrol(
    seed: int,
    frames: int,
    fps: float,
    speed: float,
    alt: float,
    debris: int,
    distractors: int | None = None,
    domain: str = "train",
    progress: bool = True,
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
    steps = range(frames)
    for i in track(steps, description="pre-rendering frames", transient=True) if progress else steps:
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


@cache
def render_source_hash() -> str:
    """Digest of the renderer's source (``RENDER_SOURCES``): a cached patrol made by other code is stale."""
    h = hashlib.sha256()
    for name in RENDER_SOURCES:
        path = ROOT / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(f.relative_to(ROOT).as_posix().encode())
            h.update(f.read_bytes())
    h.update(inspect.getsource(render_patrol).encode())
    return h.hexdigest()[:12]


def patrol_key(*args, **kwargs) -> str:
    """File name of a rendered patrol in the cache: ``render_patrol``'s arguments, every one of
    them (defaults filled in), then the renderer's source hash."""
    bound = inspect.signature(render_patrol).bind(*args, **kwargs)
    bound.apply_defaults()
    a = bound.arguments
    d = a["debris"] // 2 if a["distractors"] is None else a["distractors"]
    flight = f"{a['frames']}f-{a['fps']:g}fps-{a['speed']:g}ms-{a['alt']:g}m"
    return f"{a['domain']}-s{a['seed']}-{flight}-{a['debris']}d-{d}x-{render_source_hash()}.pkl"


def cached_patrol(cache_dir: Path | None, *args) -> list:
    """``render_patrol(*args)``, read from ``cache_dir`` when rendered before (and written there when not)."""
    if cache_dir is None:
        return render_patrol(*args, progress=False)
    path = Path(cache_dir) / patrol_key(*args)
    if path.is_file():
        try:
            return pickle.loads(path.read_bytes())
        except Exception as exc:  # a torn or foreign file: render it again
            log.warning("patrol cache %s unreadable (%s): rendering again", path, exc)
    data = render_patrol(*args, progress=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    tmp.replace(path)  # atomic: a reader never sees half a patrol
    return data


def render_patrols(jobs: list[tuple], cache_dir: Path | None = PATROL_CACHE, workers: int = 0) -> list[list]:
    """Each job's ``render_patrol`` arguments -> its frames, in order; ``workers`` processes (0: a
    process per core, at most one per job) render the ones not in ``cache_dir``."""
    from rich.progress import track

    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        return [cached_patrol(cache_dir, *j) for j in track(jobs, description="patrols", transient=True)]
    # spawn: the parent holds onnxruntime and OpenCV thread pools that a fork would copy half-made
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(cached_patrol, cache_dir, *j) for j in jobs]
        return [f.result() for f in track(futures, description="rendering patrols", transient=True)]


def candidates_all(detector, data: list) -> list:
    """``edge.detect.Detector.candidates`` of every frame of a rendered patrol (one inference each)."""
    import cv2

    return [detector.candidates(cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR)) for j, *_ in data]


def fused_look(first: Candidates, second: Candidates, a: float) -> Candidates:
    """Two verifiers' looks at the same candidates (``edge.detect.detector.Candidates``) as one:
    p(debris) = p1^a x p2^(1 - a), class probabilities and redrawn boxes averaged with weights a and
    1 - a. How two verifiers that cut other windows are tried together (``models.compare_verifiers
    --fuse``): a geometric mean keeps a candidate only when both are fairly sure of it; the same
    weighted product the agent makes of the detector's and the verifier's scores (``combine``)."""
    if first.second is None:  # no candidate in the frame: nothing to fuse
        return first
    p1, k1, b1 = first.second
    p2, k2, b2 = second.second
    mix = [(a * x + (1.0 - a) * y).astype(np.float32) for x, y in ((k1, k2), (b1, b2))]
    return replace(first, second=(combine(p1, p2, a), *mix))


class CachedDetections:
    """Stands in for the detector inside the pipeline: one inference per frame, any threshold."""

    def __init__(self, per_frame: list[list], threshold: float) -> None:
        self.per_frame, self.threshold, self.i = per_frame, threshold, 0

    def detect(self, _image: np.ndarray, gsd_m: float | None = None) -> list:
        dets = [d for d in self.per_frame[self.i] if d.score >= self.threshold]
        self.i += 1
        return dets


def run_pipeline(
    data: list,
    dets: list[list],
    threshold: float,
    fps: float,
    snapshots: bool = False,
    tracker: TrackerFactory | None = None,
) -> list:
    """Alerts (last revision of each id) of one patrol at one threshold, tracked by ``tracker``
    (None: ``default_tracker``).

    Without ``snapshots`` the pipeline is handed blank frames of the patrol's size: which tracks
    confirm, where and as what never depends on the pixels (the tracker picks a best view by score
    and angle), only the snapshot crops do, and decoding every 1080p JPEG was two thirds of a sweep.
    """
    import cv2

    from contract.messages import Alert
    from edge.alerts import SnapshotConfig, snapshotter
    from edge.geolocate import GeoConfig
    from edge.pipeline import FramePipeline, WaterLevel
    from edge.telemetry.pose import Pose

    snap = SnapshotConfig()
    pipe = FramePipeline(
        CachedDetections(dets, threshold),
        (tracker or default_tracker)(snapshotter(snap)),
        GeoConfig(),
        "bench",
        "m",
        WaterLevel(),
        3.0,
        snap,
    )
    t0 = datetime(2026, 5, 1, tzinfo=UTC).timestamp()
    payloads: list[bytes] = []
    blank = None
    for (jpeg, p, t, *_), frame_dets in zip(data, dets, strict=True):
        pixels = snapshots and any(d.score >= threshold for d in frame_dets)
        if blank is None or pixels:
            img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            blank = np.zeros_like(img) if blank is None else blank
        if not pixels:
            img = blank  # only the frame's size is read
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
    items_passed_alerted_class: int = 0  # ... by an alert that names the item's class

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

    @property
    def class_right(self) -> float:
        """Of the items passed and alerted, the share whose alert names the item's class (what the
        inspector reads as "what")."""
        n = self.items_passed_alerted
        return self.items_passed_alerted_class / n if n else float("nan")


_A = TypeVar("_A")
_I = TypeVar("_I")


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
    matched, duplicates = pair_closest(pairs)
    stray = [ai for ai in range(len(alerts)) if ai not in matched and ai not in duplicates]
    return matched, duplicates, stray


def pair_closest(pairs: Iterable[tuple[float, _A, _I]]) -> tuple[dict[_A, _I], dict[_A, _I]]:
    """One-to-one alert -> item pairing of (distance, alert, item) candidates, closest pairs first;
    and, for each alert left over, its nearest item (a duplicate of the alert that item has)."""
    ordered = sorted(pairs)  # ties: the lower alert, then the lower item, first
    matched: dict[_A, _I] = {}
    taken: set[_I] = set()
    for _, a, item in ordered:
        if a not in matched and item not in taken:
            matched[a] = item
            taken.add(item)
    duplicates: dict[_A, _I] = {}
    for _, a, item in ordered:  # closest first: the first item seen for an alert is its nearest
        if a not in matched:
            duplicates.setdefault(a, item)
    return matched, duplicates


@dataclass(frozen=True)
class AlertMatch:
    """Which truth items a patrol's alerts found: what ``score_alerts`` counts, as sets, for reports
    that break it down (``riverpatrol demo``: per class, frames per item)."""

    item_class: dict[int, str]  # every debris item in view, any size
    frames_in_view: Counter[int]  # items >= min_size_m: frames they were fully visible (>= 80 %) in
    passed: set[int]  # ... in >= passed_min_frames of them: the patrol passed them
    hit: set[int]  # items an alert was assigned to
    named: set[int]  # ... by an alert that names the item's class
    stray: int  # alerts farther than match_m from every debris item of any size


def match_alerts(
    truth_frames: Iterable[Iterable],
    alerts: list,
    min_size_m: float = 0.3,
    match_m: float = MATCH_M,
    passed_min_frames: int = PASSED_MIN_FRAMES,
) -> AlertMatch:
    """Assign alerts (``lat``, ``lon``, ``debris_class``) to the truth boxes of each frame
    (``item_id``, ``lat``, ``lon``, ``class_index``, ``visible_fraction``, ``size_m``) with
    ``assign_alerts``."""
    positions: dict[int, list[tuple[float, float]]] = {}
    item_class: dict[int, str] = {}
    frames_in_view: Counter[int] = Counter()
    for truth in truth_frames:
        for b in truth:
            positions.setdefault(b.item_id, []).append((b.lat, b.lon))
            item_class[b.item_id] = DEBRIS_CLASSES[b.class_index]
            if b.visible_fraction >= 0.8 and b.size_m >= min_size_m:
                frames_in_view[b.item_id] += 1
    passed = {i for i, n in frames_in_view.items() if n >= passed_min_frames}
    matched, _dups, stray = assign_alerts([(a.lat, a.lon) for a in alerts], positions, match_m)
    named = {item for ai, item in matched.items() if str(alerts[ai].debris_class) == item_class[item]}
    return AlertMatch(item_class, frames_in_view, passed, set(matched.values()), named, len(stray))


def score_alerts(data: list, alerts: list, min_size_m: float = 0.3) -> AlertScore:
    """Assign alerts to truth items (``match_alerts``); recall over items >= ``min_size_m``.

    ``unmatched`` counts alerts farther than ``MATCH_M`` from every debris item of any size.
    Recall is given twice: over every item fully in view in some frame, and over the items the
    patrol passed (fully in view in >= ``PASSED_MIN_FRAMES`` frames, not a glimpse at its ends).
    """
    m = match_alerts((truth for *_, truth, _d in data), alerts, min_size_m)
    target = set(m.frames_in_view)
    return AlertScore(
        len(alerts),
        m.stray,
        len(target),
        len(m.hit & target),
        len(m.passed),
        len(m.hit & m.passed),
        len(m.named & m.passed),
    )


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
        cache_dir: Path | None = PATROL_CACHE,
        workers: int = 0,
    ) -> None:
        """``cache_dir``: rendered patrols are kept there (None: render every time); ``workers``:
        render processes (0: one per core)."""
        jobs = [(s, clean_frames_each, fps, speed, alt, 0, distractors, domain) for s in clean_seeds]
        jobs += [
            (s, littered_frames_each, fps, speed, alt, debris, distractors, domain) for s in littered_seeds
        ]
        self._rendered = render_patrols(jobs, cache_dir, workers)
        self._n_clean = len(clean_seeds)
        self.fps, self.speed, self.alt = fps, speed, alt
        self.clean_frames = len(clean_seeds) * clean_frames_each
        self.littered_frames = len(littered_seeds) * littered_frames_each
        self.detect_with(detector)

    def detect_with(self, detector) -> None:
        """Run another detector (or the same one re-configured) over the frames already rendered."""
        self._detector = detector
        self._candidates = [candidates_all(detector, data) for data in self._rendered]
        self.reweigh(None)

    def look_again_with(self, detector) -> None:
        """Keep the candidates the detector found and let ``detector``'s verifier look at them instead
        (the same detector network with another verifier): the frames are decoded again, the
        detector is not run. How verifiers are compared on exactly the same proposals."""
        import cv2

        if detector.verifier is None:
            raise ValueError("look_again_with: the detector has no verifier")
        again = []
        for data, cands in zip(self._rendered, self._candidates, strict=True):
            redone = []
            for (jpeg, *_), c in zip(data, cands, strict=True):
                second = None
                if len(c.found.boxes):
                    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                    scale = detector.native_frame_hw[1] / c.frame_wh[0]
                    second = detector.verifier(frame, c.found.boxes, scale=scale)
                redone.append(replace(c, second=second))
            again.append(redone)
        self.use_candidates(detector, again)

    @property
    def candidates(self) -> list[list]:
        """Every patrol's candidates per frame, as the current verifier looked at them."""
        return self._candidates

    def use_candidates(self, detector, candidates: list[list]) -> None:
        """Decide from ``candidates`` (as ``candidates`` gave them, or fused: ``fused_look``) with
        ``detector``'s operating point and class weights; no network runs."""
        self._detector, self._candidates = detector, candidates
        self.reweigh(None)

    def reweigh(self, detector_weight: float | None) -> None:
        """Decide again with the verifier's detector weight set to ``detector_weight`` (None: its
        own), from the candidates already found: no network runs again."""
        flown = [
            (data, [self._detector.decide(c, detector_weight) for c in cands])
            for data, cands in zip(self._rendered, self._candidates, strict=True)
        ]
        self.clean, self.littered = flown[: self._n_clean], flown[self._n_clean :]

    def clean_alerts(
        self, threshold: float, tracker: TrackerFactory | None = None
    ) -> list[tuple[list, list]]:
        """``(patrol, its alerts)`` of each debris-free patrol at ``threshold``: every alert is false
        (``models.false_alerts`` names what each lies on)."""
        return [(d, run_pipeline(d, dets, threshold, self.fps, tracker=tracker)) for d, dets in self.clean]

    def at(self, threshold: float, tracker: TrackerFactory | None = None) -> tuple[int, AlertScore]:
        """(alerts on the debris-free patrols - all false, score of the littered patrols' alerts),
        tracked by ``tracker`` (None: the edge agent's default)."""
        false_alerts = sum(len(alerts) for _, alerts in self.clean_alerts(threshold, tracker))
        score = AlertScore()
        for d, dets in self.littered:
            score += score_alerts(d, run_pipeline(d, dets, threshold, self.fps, tracker=tracker))
        return false_alerts, score
