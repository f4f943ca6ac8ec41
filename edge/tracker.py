"""Tracking and dedup: one physical item -> one alert, however many frames, passes or drones see it.

Two levels, because they answer different questions:

* **Tracks** live in image space for one continuous view: detections are associated frame to
  frame by IoU / centre distance against a constant-velocity prediction of the box (gated by
  world distance, so two look-alike boxes far apart on the water never swap). A track becomes
  real only when it has ``min_hits`` hits and the median of its last ``score_window`` scores
  reaches ``confirm_median``: single-frame glints and low-score wakes never get that far.
* **Items** live in world space for the whole mission: a confirmed track is linked to the
  nearest known item of a compatible class within a gate that grows with both uncertainty
  radii and with the time since the item was last seen (the current moves debris at up to
  ``max_drift_mps``); on a bundled river the gate follows the river (``river_fit``): the current
  carries an item along it, hardly across it, so a look-alike across the water minutes later is
  another item. Items learned from other drones' alerts (:meth:`Tracker.learn_remote`)
  are candidates too, so a re-sighting keeps their ``alert_id``. A track that saw the spot from
  much nearer than the item was ever seen (a closer look) takes an item of another class there
  and renames it: the closer view names it better, and one item stays one alert. An item's
  position is its latest track's mean of fixes, older fixes fading: the current moves debris.
  Every fix also feeds the item's drift (``edge.drift``), told once two passes or a hold show
  it: a closer look is matched where the drift carried the item, and the alert carries it so
  the operator flies there.

Item lifecycle (Frigate-style events): ``new`` once, when the first track confirms; ``update``
on a better view (a higher quality, or markedly larger: a closer look) or a position moved
``moved_update_m`` from the one announced (at most every ``update_min_interval_s``), or on a
re-sighting after ``end`` (``passes`` + 1, sent at once); ``end`` when the item has not been
seen for ``end_after_s`` (``left_frame_end_s`` when its last box left the frame). Never a second
``new``.

Pure: time is whatever the caller passes (frame capture time, seconds), nothing reads a clock,
so replaying the same input gives the same events.
"""

from __future__ import annotations

import logging
import math
import statistics
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from contract.drift import drifted, spread_m
from contract.geo import distance_m
from contract.messages import Alert, AlertEvent
from contract.rivers import River, RiverPoint, on_river
from edge.drift import DriftConfig, DriftEstimate, DriftEstimator

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Sighting:
    """One detection in one frame, already geolocated (see ``edge.geolocate``)."""

    box: Box  # x1, y1, x2, y2 in frame pixels
    score: float
    class_name: str
    lat: float
    lon: float
    uncertainty_m: float
    off_nadir_deg: float = 0.0
    slant_m: float = 0.0  # camera to item; 0: not known

    @classmethod
    def of(cls, detection: Any, fix: Any) -> Sighting:
        """From an ``edge.detect`` Detection (box, score, class_name) and an ``edge.geolocate.GeoFix``."""
        return cls(
            box=tuple(detection.box),
            score=float(detection.score),
            class_name=detection.class_name,
            lat=fix.lat,
            lon=fix.lon,
            uncertainty_m=fix.uncertainty_m,
            off_nadir_deg=fix.off_nadir_deg,
            slant_m=fix.slant_m,
        )


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Tuning of association, confirmation and the event lifecycle."""

    drone_id: str  # our own alerts come back on the fleet subscription: ignore them
    min_hits: int = 3
    score_window: int = 5
    confirm_median: float = 0.5
    iou_gate: float = 0.1
    centre_gate: float = 1.5  # centre distance over sqrt(box area) of the prediction
    track_max_age_s: float = 1.0  # an image track unmatched this long is dropped
    end_after_s: float = 5.0  # an item unseen this long ends
    left_frame_end_s: float = 1.0  # ... sooner when its last box left the frame
    max_drift_mps: float = 0.5  # fastest the current moves debris between passes
    # Where both fixes lie on one of ``rivers`` (``contract.rivers.on_river``), its frame narrows
    # that gate: the current carries an item along the river, and across it (wind, eddies) at
    # most this fast. A look-alike across the water minutes later is another item.
    across_drift_mps: float = 0.05
    # ... plus this share of the wind's speed (``Tracker.set_wind``): a breeze blows floating
    # litter across at 0.5-5 % of it (its leeway). 2 %, not the most: a wider gate takes in more
    # look-alikes than it saves second alerts (``bench/relink_bench.py``, models/EXPERIMENTS.md).
    windage: float = 0.02
    # ... and against the flow of a river that never turns (not ``tidal``) at most this fast; on
    # a tidal one as fast as with it.
    upstream_drift_mps: float = 0.05
    rivers: tuple[River, ...] | None = None  # the rivers patrolled; None: the bundled ones
    river_frame: bool = True  # False: the plain gate everywhere
    world_gate_margin_m: float = 1.0
    # A drone at 8 m/s and 5 fps moves a small item ~70 px between frames, far outside the image
    # gate until the track has a velocity; two fixes this close on the water are the same item.
    world_assoc_m: float = 1.5
    update_min_interval_s: float = 5.0  # rate limit of better-view updates per item
    min_quality_gain: float = 0.03  # a view must beat the best by this much to count as better
    nadir_weight: float = 0.3  # quality = score * (1 - nadir_weight * off_nadir / 90)
    # A closer look (``gcs mission goto --alt``, or a lower pass) shows the item this much larger
    # than its best view: that is the better photo, at a score this close to the best's.
    closer_view_ratio: float = 1.5
    closer_view_score_slack: float = 0.05
    # A track that saw from ``closer_view_ratio`` times nearer than the item was ever seen (the
    # camera's distance, not the box: a box clipped by the frame's edge is small from any height)
    # and names it otherwise (a bag that from 30 m looked like foam), within this of where it was
    # last seen: the same item, renamed, not a second alert. Farther, it is another item (debris
    # gathers in rafts), whatever the drift allowance would take in.
    closer_view_rename_m: float = 3.0
    # The item's position moved this far from the one last announced (a closer look fixes what
    # a glimpse in a turn or a descent got wrong): an update says where it is.
    moved_update_m: float = 2.0
    # A fix this much older than the latest counts 1/e as much in the position: the current moves
    # debris, so the plain mean of a long look (a hold over it, 60 fixes in 15 s) trails the item
    # by half the way it drifted; a pass's few seconds of fixes still average their noise.
    position_time_constant_s: float = 1.5
    # Two boxes overlapping this much in one frame are one object the detector named twice
    # (foam and styrofoam): its second track joins the item, it does not start another.
    same_object_iou: float = 0.5
    class_groups: tuple[tuple[str, ...], ...] = (("foam", "styrofoam"),)  # confusable classes
    max_items: int = 5000  # oldest ended items are forgotten beyond this (memory bound)
    drift: DriftConfig = field(default_factory=DriftConfig)  # when an item's drift is worth saying
    scores_kept: int = 50  # per item, for its median score

    def __post_init__(self) -> None:
        if self.min_hits < 1 or self.score_window < 1:
            raise ValueError("TrackerConfig.min_hits and score_window must be >= 1")
        if not 0.0 <= self.confirm_median <= 1.0:
            raise ValueError(f"TrackerConfig.confirm_median must be in [0, 1], got {self.confirm_median}")
        if self.position_time_constant_s <= 0:
            raise ValueError("TrackerConfig.position_time_constant_s must be > 0")
        if self.end_after_s < self.left_frame_end_s:
            raise ValueError("TrackerConfig.end_after_s must be >= left_frame_end_s")


@dataclass(frozen=True, slots=True)
class BestView:
    """The frame that shows the item best; ``snapshot`` is what the snapshot function made of it."""

    time: float
    box: Box
    score: float
    off_nadir_deg: float
    snapshot: Any


@dataclass(frozen=True, slots=True)
class TrackEvent:
    """One event of one item, ready for ``edge.alerts.build_alert``."""

    event: AlertEvent
    alert_id: UUID
    revision: int
    class_name: str
    lat: float
    lon: float
    uncertainty_m: float
    confidence: float
    sightings: int
    passes: int
    first_seen: float
    last_seen: float
    top_score: float
    median_score: float
    best: BestView | None
    drift: DriftEstimate | None = None  # its velocity on the water, where the fixes tell it


@dataclass(slots=True)
class TrackerStats:
    frames: int = 0
    sightings: int = 0
    rejected: int = 0
    tracks_started: int = 0
    tracks_confirmed: int = 0
    remote_learned: int = 0
    renamed_by_closer_look: int = 0  # items a closer look named again (one alert, not two)
    kept_apart_by_river: int = 0  # new items the plain gate would have taken for a known one
    items_forgotten: int = 0
    last_rejection: str = ""


@dataclass(slots=True, eq=False)
class _Item:
    alert_id: UUID
    class_name: str
    lat: float
    lon: float
    uncertainty_m: float
    revision: int
    first_seen: float
    last_seen: float
    sightings: int = 0
    passes: int = 1
    top_score: float = 0.0
    scores: deque[float] = field(default_factory=deque)
    best: BestView | None = None
    best_quality: float = -1.0
    open: bool = False
    last_emit: float = -math.inf
    said_at: tuple[float, float] | None = None  # lat, lon last announced
    dirty: bool = False
    left_frame: bool = False
    matched_at: float = -math.inf  # frame time a track last fed this item
    fed_box: Box | None = None  # the box that fed it then
    classes: set[str] = field(default_factory=set)  # every class it was called: a track of any is it
    tracks: int = 0  # live confirmed tracks linked to it
    min_slant_m: float = math.inf  # the nearest the camera has been to it
    fixes: DriftEstimator | None = None  # every fix of it, for its drift (None: learned, not seen)
    drift: DriftEstimate | None = None  # the latest estimate (ours, or another drone's)
    river_at: tuple[float, float, RiverPoint | None] | None = None  # lat, lon and their river frame

    def __post_init__(self) -> None:
        self.classes.add(self.class_name)

    def at(self, t: float) -> tuple[float, float]:
        """Where it is likely to be at ``t``: carried by its drift from where it was last seen."""
        if self.drift is None or t <= self.last_seen:
            return self.lat, self.lon
        return drifted(self.lat, self.lon, self.drift.east_mps, self.drift.north_mps, t - self.last_seen)

    def drift_spread_m(self, t: float) -> float:
        """How far off :meth:`at` may be for the drift's error (about 2 sigma), m."""
        if self.drift is None:
            return 0.0
        return spread_m(self.drift.sigma_mps, t - self.last_seen)


@dataclass(slots=True, eq=False)
class _Track:
    box: Box
    last_time: float
    vel: tuple[float, float] = (0.0, 0.0)
    hits: int = 0
    scores: deque[float] = field(default_factory=deque)
    all_scores: list[float] = field(default_factory=list)
    votes: dict[str, float] = field(default_factory=dict)
    wsum: float = 0.0
    lat_w: float = 0.0
    lon_w: float = 0.0
    uncertainty_m: float = math.inf
    min_slant_m: float = math.inf
    first_time: float = 0.0
    best: tuple[float, float, Box, float, float, Any] | None = None  # quality, t, box, score, nadir, frame
    item: _Item | None = None
    shadow: bool = False  # a second box on its item's object: feeds it only while the first is lost
    fixes: list[tuple[float, float, float, float]] = field(default_factory=list)  # t, lat, lon, radius

    @property
    def lat(self) -> float:
        return self.lat_w / self.wsum

    @property
    def lon(self) -> float:
        return self.lon_w / self.wsum

    @property
    def class_name(self) -> str:
        return max(self.votes.items(), key=lambda kv: kv[1])[0]


def _estimate(alert: Alert) -> DriftEstimate | None:
    """Another drone's drift of an item, as the tracker holds its own."""
    d = alert.drift
    if d is None:
        return None
    return DriftEstimate(d.east_mps, d.north_mps, d.sigma_mps, span_s=d.over_s, fixes=0)


def river_fit(
    here: RiverPoint,
    there: RiverPoint,
    near_m: float,
    gap_s: float,
    cfg: TrackerConfig,
    wind_mps: float = 0.0,
) -> float:
    """How a fix ``gap_s`` after an item was seen ``there`` fits the river's current (<= 1: it
    may be the item): carried along the river at up to ``max_drift_mps`` downstream (as fast up
    a tidal river, ``upstream_drift_mps`` up another), across it at up to ``across_drift_mps``
    and ``windage`` of the wind; ``near_m`` for the two fixes' errors. 0 on two different
    rivers (a confluence): the frame says nothing there."""
    if here.river != there.river:
        return 0.0
    along = here.arc_m - there.arc_m
    speed = cfg.max_drift_mps if along >= 0.0 or here.tidal else cfg.upstream_drift_mps
    across = abs(here.offset_m - there.offset_m)
    across_mps = cfg.across_drift_mps + cfg.windage * wind_mps
    return max(abs(along) / (near_m + speed * gap_s), across / (near_m + across_mps * gap_s))


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _centre(b: Box) -> tuple[float, float]:
    return (b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0


def _side(b: Box) -> float:
    """A box's size in pixels: the side of the square of its area."""
    return math.sqrt(max(b[2] - b[0], 0.0) * max(b[3] - b[1], 0.0))


def _shift(b: Box, dx: float, dy: float) -> Box:
    return b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy


def validate_sighting(s: Sighting) -> str | None:
    """Why a sighting is unusable, or None when it is fine."""
    if not all(math.isfinite(x) for x in (*s.box, s.score, s.lat, s.lon, s.uncertainty_m)):
        return f"non-finite field in {s!r}"
    if s.box[2] <= s.box[0] or s.box[3] <= s.box[1]:
        return f"empty box {s.box}"
    if not 0.0 <= s.score <= 1.0:
        return f"score {s.score} outside [0, 1]"
    if not (-90 <= s.lat <= 90 and -180 <= s.lon <= 180):
        return f"lat/lon ({s.lat}, {s.lon}) out of range"
    if s.uncertainty_m < 0:
        return f"negative uncertainty {s.uncertainty_m}"
    if not s.class_name:
        return "empty class name"
    return None


class Tracker:
    """Feed it frames with :meth:`update`, other drones' alerts with :meth:`learn_remote`."""

    def __init__(
        self,
        cfg: TrackerConfig,
        snapshot: Callable[[Any, Box], Any] | None = None,
        new_id: Callable[[], UUID] = uuid.uuid4,
    ) -> None:
        """``snapshot(frame, box)`` turns a best frame into what is kept (e.g. JPEG crops), so the
        tracker never holds whole frames beyond a track's life; without it the frame itself is kept."""
        self.cfg = cfg
        self._snapshot = snapshot
        self._new_id = new_id
        self._tracks: list[_Track] = []
        self._items: dict[UUID, _Item] = {}
        self._last_t = -math.inf
        self._wind_mps = 0.0
        self.stats = TrackerStats()

    # ----------------------------------------------------------------- queries
    @property
    def items(self) -> int:
        return len(self._items)

    @property
    def open_items(self) -> int:
        return sum(1 for i in self._items.values() if i.open)

    @property
    def active_tracks(self) -> int:
        return len(self._tracks)

    # ----------------------------------------------------------------- input
    def set_wind(self, speed_mps: float | None) -> None:
        """The wind's speed now (the autopilot's estimate; None: not known, taken as calm): a
        breeze blows floating debris across the river, so the river's frame allows for it."""
        self._wind_mps = speed_mps if speed_mps is not None and math.isfinite(speed_mps) else 0.0

    def update(
        self,
        t: float,
        sightings: Sequence[Sighting],
        frame: Any = None,
        frame_size: tuple[int, int] | None = None,
    ) -> list[TrackEvent]:
        """One frame captured at ``t`` (s) with its geolocated detections -> the events it causes.

        ``frame`` is handed to the snapshot function when this frame becomes an item's best view;
        ``frame_size`` (width, height) lets tracks that leave the picture end early.
        Raises ``ValueError`` (state untouched) for a frame older than the last one.
        """
        self._check_time(t)
        self.stats.frames += 1
        good: list[Sighting] = []
        for s in sightings:
            why = validate_sighting(s)
            if why is None:
                good.append(s)
            else:
                self.stats.rejected += 1
                self.stats.last_rejection = why
                log.warning("tracker: rejected sighting at t=%.3f: %s", t, why)
        self.stats.sightings += len(good)
        events: list[TrackEvent] = []
        matched = self._associate(t, good)
        fresh: list[_Track] = []
        for tr, s in matched:
            self._feed(tr, s, t, frame)
        for s in good:
            if not any(s is ms for _, ms in matched):
                tr = _Track(box=s.box, last_time=t, first_time=t, scores=deque(maxlen=self.cfg.score_window))
                self._feed(tr, s, t, frame)
                self._tracks.append(tr)
                fresh.append(tr)
                self.stats.tracks_started += 1
        # Tracks already linked to an item feed it first, so the items they hold this frame
        # are not taken by a second, simultaneously visible track below.
        for tr, _ in sorted(matched, key=lambda m: m[0].shadow):  # an object's first box first
            if tr.item is not None:
                self._feed_item(tr, t)
        for tr in [m for m, _ in matched if m.item is None] + fresh:
            if self._confirmed(tr):
                self._link(tr, t, events)
        self._expire(t, frame_size, events)
        self._forget_old()
        return events

    def tick(self, t: float) -> list[TrackEvent]:
        """Advance time without a frame (camera stalled): ends and due updates still happen."""
        self._check_time(t)
        events: list[TrackEvent] = []
        self._expire(t, None, events)
        return events

    def flush(self, t: float) -> list[TrackEvent]:
        """End every open item now (mission over, agent stopping)."""
        self._check_time(t)
        events: list[TrackEvent] = []
        for tr in self._tracks:
            if tr.item is not None:
                tr.item.tracks -= 1
        self._tracks.clear()
        for item in self._items.values():
            if item.open:
                self._end(item, t, events)
        return events

    def learn_remote(self, alert: Alert) -> bool:
        """Remember another drone's item so our sighting of it updates that alert instead of a new one.

        Returns False for our own alerts (echoed by the fleet subscription), True otherwise.
        """
        if alert.drone_id == self.cfg.drone_id:
            return False
        ts = alert.track.last_seen.timestamp()
        item = self._items.get(alert.alert_id)
        if item is None:
            self._items[alert.alert_id] = _Item(
                alert_id=alert.alert_id,
                class_name=alert.debris_class.value,
                lat=alert.lat,
                lon=alert.lon,
                uncertainty_m=alert.uncertainty_m,
                revision=alert.revision,
                first_seen=alert.track.first_seen.timestamp(),
                last_seen=ts,
                sightings=alert.track.sightings,
                passes=alert.track.passes,
                top_score=alert.track.top_score,
                scores=deque([alert.track.median_score], maxlen=self.cfg.scores_kept),
                drift=_estimate(alert),
            )
        else:
            item.revision = max(item.revision, alert.revision)
            item.passes = max(item.passes, alert.track.passes)
            item.sightings = max(item.sightings, alert.track.sightings)
            item.top_score = max(item.top_score, alert.track.top_score)
            if ts > item.last_seen:  # the newest sighting is where the item drifted to
                item.lat, item.lon, item.uncertainty_m = alert.lat, alert.lon, alert.uncertainty_m
                item.last_seen = ts
                item.drift = _estimate(alert) or item.drift
        self.stats.remote_learned += 1
        return True

    # ----------------------------------------------------------------- internals
    def _check_time(self, t: float) -> None:
        if not math.isfinite(t):
            raise ValueError(f"tracker: frame time {t} is not finite")
        if t < self._last_t:
            raise ValueError(f"tracker: frame time {t:.3f} is older than the last one ({self._last_t:.3f})")
        self._last_t = t

    def _quality(self, score: float, off_nadir_deg: float) -> float:
        return score * (1.0 - self.cfg.nadir_weight * min(abs(off_nadir_deg), 90.0) / 90.0)

    def _associate(self, t: float, sightings: list[Sighting]) -> list[tuple[_Track, Sighting]]:
        """Greedy lowest-cost matching of tracks to sightings inside the image and world gates."""
        cfg = self.cfg
        pairs: list[tuple[float, int, int]] = []
        for ti, tr in enumerate(self._tracks):
            dt = t - tr.last_time
            pred = _shift(tr.box, tr.vel[0] * dt, tr.vel[1] * dt)
            pc = _centre(pred)
            scale = math.sqrt(max((pred[2] - pred[0]) * (pred[3] - pred[1]), 1.0))
            for si, s in enumerate(sightings):
                ov = iou(pred, s.box)
                sc = _centre(s.box)
                cn = math.hypot(sc[0] - pc[0], sc[1] - pc[1]) / scale
                d = distance_m(tr.lat, tr.lon, s.lat, s.lon)
                if d > math.hypot(tr.uncertainty_m, s.uncertainty_m) + cfg.world_gate_margin_m:
                    continue
                if ov >= cfg.iou_gate or cn <= cfg.centre_gate:
                    pairs.append(((1.0 - ov) + 0.5 * cn, ti, si))
                elif d <= cfg.world_assoc_m:  # image gate missed (ego-motion): same spot on the water
                    pairs.append((1.0 + 0.5 * cfg.centre_gate + d / cfg.world_assoc_m, ti, si))
        pairs.sort()
        used_t: set[int] = set()
        used_s: set[int] = set()
        out: list[tuple[_Track, Sighting]] = []
        for _, ti, si in pairs:
            if ti in used_t or si in used_s:
                continue
            used_t.add(ti)
            used_s.add(si)
            out.append((self._tracks[ti], sightings[si]))
        return out

    def _feed(self, tr: _Track, s: Sighting, t: float, frame: Any) -> None:
        dt = t - tr.last_time
        if tr.hits and dt > 0:
            (ox, oy), (nx, ny) = _centre(tr.box), _centre(s.box)
            vx, vy = (nx - ox) / dt, (ny - oy) / dt
            tr.vel = (0.5 * vx + 0.5 * tr.vel[0], 0.5 * vy + 0.5 * tr.vel[1]) if tr.hits > 1 else (vx, vy)
        tr.box, tr.last_time = s.box, t
        tr.hits += 1
        tr.scores.append(s.score)
        tr.all_scores.append(s.score)
        tr.votes[s.class_name] = tr.votes.get(s.class_name, 0.0) + s.score
        # Inverse-variance mean of the fixes, older ones fading (``position_time_constant_s``); the
        # radius is the best single fix's, not shrunk by sqrt(n): attitude and GNSS errors are
        # correlated over a pass, averaging does not cancel them.
        if tr.hits > 1 and dt > 0:
            fade = math.exp(-dt / self.cfg.position_time_constant_s)
            tr.wsum, tr.lat_w, tr.lon_w = tr.wsum * fade, tr.lat_w * fade, tr.lon_w * fade
        w = 1.0 / max(s.uncertainty_m, 0.1) ** 2
        tr.wsum += w
        tr.lat_w += w * s.lat
        tr.lon_w += w * s.lon
        tr.uncertainty_m = min(tr.uncertainty_m, s.uncertainty_m)
        tr.fixes.append((t, s.lat, s.lon, s.uncertainty_m))
        if s.slant_m > 0:
            tr.min_slant_m = min(tr.min_slant_m, s.slant_m)
        q = self._quality(s.score, s.off_nadir_deg)
        if tr.best is None or q > tr.best[0]:
            tr.best = (q, t, s.box, s.score, s.off_nadir_deg, frame)

    def _confirmed(self, tr: _Track) -> bool:
        return tr.hits >= self.cfg.min_hits and statistics.median(tr.scores) >= self.cfg.confirm_median

    def _compatible(self, a: str, b: str) -> bool:
        return a == b or any(a in g and b in g for g in self.cfg.class_groups)

    def _find_item(self, tr: _Track, t: float) -> _Item | None:
        """The known item ``tr`` sees: the nearest of a compatible class within its gate; failing
        that, one of another class that ``tr`` sees from much closer, near where it was (the
        closer look names it better: the item takes the new name instead of a second alert)."""
        cfg = self.cfg
        best: tuple[float, _Item] | None = None
        renamed: tuple[float, _Item] | None = None
        cls = tr.class_name
        here: list[RiverPoint | None] = []  # the track's river frame, once an item needs it
        kept_apart = False  # an item the plain gate took in was across the current from it
        for item in self._items.values():
            if item.matched_at == t:  # fed by another track in this very frame: a different object,
                if not self._same_object(tr, item):  # unless the two boxes are one, whatever each calls it
                    continue
            elif not any(self._compatible(cls, c) for c in item.classes):
                if self._nearer(tr.min_slant_m, item.min_slant_m):  # a closer look: its name may be better
                    # near where the current has carried it since (the look flew to that point)
                    d = distance_m(tr.lat, tr.lon, *item.at(t)) - item.drift_spread_m(t)
                    if d <= cfg.closer_view_rename_m and (renamed is None or d < renamed[0]):
                        renamed = (d, item)
                continue
            gap = max(0.0, t - item.last_seen)
            near = math.hypot(tr.uncertainty_m, item.uncertainty_m) + cfg.world_gate_margin_m
            # Within the fastest drift of where it was, or within its drift's error of where its
            # drift has carried it (a closer look flies to that point), whichever fits better.
            fit = distance_m(tr.lat, tr.lon, item.lat, item.lon) / (near + cfg.max_drift_mps * gap)
            if fit <= 1.0 and cfg.river_frame:  # on a river, the current narrows that disk
                if not here:
                    here.append(on_river(tr.lat, tr.lon, cfg.rivers))
                there = self._river_point(item)
                if here[0] is not None and there is not None:
                    plain, fit = fit, max(fit, river_fit(here[0], there, near, gap, cfg, self._wind_mps))
                    kept_apart |= fit > 1.0 >= plain
            if item.drift is not None:
                fit = min(fit, distance_m(tr.lat, tr.lon, *item.at(t)) / (near + item.drift_spread_m(t)))
            if fit <= 1.0 and (best is None or fit < best[0]):
                best = (fit, item)
        if best is None and kept_apart and renamed is None:
            self.stats.kept_apart_by_river += 1
        if best is None and renamed is not None:
            self.stats.renamed_by_closer_look += 1
            item = renamed[1]
            log.info(
                "tracker: a closer look calls item %s %s, not %s",
                str(item.alert_id)[:8],
                cls,
                item.class_name,
            )
            return item
        return best[1] if best else None

    def _river_point(self, item: _Item) -> RiverPoint | None:
        """Where ``item`` was last seen in its river's frame (worked out once per position)."""
        if item.river_at is None or item.river_at[:2] != (item.lat, item.lon):
            item.river_at = (item.lat, item.lon, on_river(item.lat, item.lon, self.cfg.rivers))
        return item.river_at[2]

    def _nearer(self, slant_m: float, than_m: float) -> bool:
        """Whether a camera ``slant_m`` away was markedly nearer than one ``than_m`` away (both known)."""
        return math.isfinite(than_m) and slant_m * self.cfg.closer_view_ratio <= than_m

    def _same_object(self, tr: _Track, item: _Item) -> bool:
        """Whether ``tr``'s box is, in this frame, the box that fed ``item``: one object seen twice."""
        return item.fed_box is not None and iou(tr.box, item.fed_box) >= self.cfg.same_object_iou

    def _link(self, tr: _Track, t: float, events: list[TrackEvent]) -> None:
        """A track just confirmed: attach it to a known item (re-sighting) or start a new one."""
        self.stats.tracks_confirmed += 1
        item = self._find_item(tr, t)
        if item is not None and item.matched_at == t:  # a second box on an object fed this frame
            tr.item, tr.shadow = item, True
            item.tracks += 1
            return
        if item is None:
            item = _Item(
                alert_id=self._new_id(),
                class_name=tr.class_name,
                lat=tr.lat,
                lon=tr.lon,
                uncertainty_m=tr.uncertainty_m,
                revision=-1,
                first_seen=tr.first_time,
                last_seen=t,
                scores=deque(maxlen=self.cfg.scores_kept),
            )
            self._items[item.alert_id] = item
            kind = AlertEvent.NEW
        elif item.open:
            kind = None  # a fragment of the current pass: same item, nothing to announce yet
        else:
            item.passes += 1
            kind = AlertEvent.UPDATE
        tr.item = item
        item.tracks += 1
        item.open = True
        item.left_frame = False
        item.sightings += tr.hits
        item.scores.extend(tr.all_scores)
        item.top_score = max(item.top_score, max(tr.all_scores))
        self._absorb(tr, item, t)
        if kind is not None:
            self._emit(item, kind, t, events)

    def _absorb(self, tr: _Track, item: _Item, t: float) -> None:
        """Latest track estimate and class, and the track's best view when it beats the item's."""
        item.lat, item.lon, item.uncertainty_m = tr.lat, tr.lon, tr.uncertainty_m
        if not tr.shadow:  # the object's first box: its fixes are the item's path on the water
            if item.fixes is None:
                item.fixes = DriftEstimator(self.cfg.drift)
            for fix in tr.fixes:  # those since it last fed the item
                item.fixes.add(*fix)
            item.drift = item.fixes.estimate() or item.drift
        tr.fixes.clear()
        if (
            item.said_at is not None
            and distance_m(*item.said_at, item.lat, item.lon) > self.cfg.moved_update_m
        ):
            item.dirty = True
        # The object's second box, often the doubtful name, does not rename it; nor does a view
        # from much farther than the nearest it had (the patrol's name after a closer look's).
        if not tr.shadow and not self._nearer(item.min_slant_m, tr.min_slant_m):
            item.class_name = tr.class_name
        item.classes.add(tr.class_name)
        item.min_slant_m = min(item.min_slant_m, tr.min_slant_m)
        item.last_seen = max(item.last_seen, t)
        item.matched_at = t
        item.fed_box = tr.box
        assert tr.best is not None
        q, bt, box, score, nadir, frame = tr.best
        if (
            q > item.best_quality + self.cfg.min_quality_gain
            or item.best is None
            or self._closer(box, score, item.best)
        ):
            snap = self._snapshot(frame, box) if (self._snapshot and frame is not None) else frame
            item.best = BestView(time=bt, box=box, score=score, off_nadir_deg=nadir, snapshot=snap)
            item.best_quality = q
            item.dirty = True

    def _closer(self, box: Box, score: float, best: BestView) -> bool:
        """Whether a view shows the item markedly larger than its best one, about as surely: the
        drone came down or closer for a look, and the inspector wants that photo."""
        cfg = self.cfg
        return (
            _side(box) >= cfg.closer_view_ratio * _side(best.box)
            and score >= best.score - cfg.closer_view_score_slack
        )

    def _feed_item(self, tr: _Track, t: float) -> None:
        item = tr.item
        assert item is not None
        if item.matched_at == t:  # fed by another box on it this frame: one sighting, not two
            return
        item.sightings += 1
        item.scores.append(tr.scores[-1])
        item.top_score = max(item.top_score, tr.scores[-1])
        self._absorb(tr, item, t)

    def _expire(self, t: float, frame_size: tuple[int, int] | None, events: list[TrackEvent]) -> None:
        cfg = self.cfg
        keep: list[_Track] = []
        for tr in self._tracks:
            age = t - tr.last_time
            left = False
            if frame_size is not None and age > 0:
                cx, cy = _centre(_shift(tr.box, tr.vel[0] * age, tr.vel[1] * age))
                left = not (0 <= cx < frame_size[0] and 0 <= cy < frame_size[1])
            if age > cfg.track_max_age_s or left:
                if tr.item is not None:
                    tr.item.tracks -= 1
                    tr.item.left_frame = left and tr.item.tracks == 0
                continue
            keep.append(tr)
        self._tracks = keep
        for item in self._items.values():
            if not item.open:
                continue
            unseen = t - item.last_seen
            if item.tracks == 0 and (
                unseen > cfg.end_after_s or (item.left_frame and unseen > cfg.left_frame_end_s)
            ):
                self._end(item, t, events)
            elif item.dirty and t - item.last_emit >= cfg.update_min_interval_s:
                self._emit(item, AlertEvent.UPDATE, t, events)

    def _end(self, item: _Item, t: float, events: list[TrackEvent]) -> None:
        item.open = False
        item.left_frame = False
        self._emit(item, AlertEvent.END, t, events)

    def _emit(self, item: _Item, kind: AlertEvent, t: float, events: list[TrackEvent]) -> None:
        item.revision += 1
        item.last_emit = t
        item.said_at = (item.lat, item.lon)
        item.dirty = False
        best = item.best
        events.append(
            TrackEvent(
                event=kind,
                alert_id=item.alert_id,
                revision=item.revision,
                class_name=item.class_name,
                lat=item.lat,
                lon=item.lon,
                uncertainty_m=item.uncertainty_m,
                confidence=best.score if best else item.top_score,
                sightings=max(item.sightings, 1),
                passes=item.passes,
                first_seen=item.first_seen,
                last_seen=item.last_seen,
                top_score=item.top_score,
                median_score=statistics.median(item.scores) if item.scores else item.top_score,
                best=best,
                drift=item.drift,
            )
        )

    def _forget_old(self) -> None:
        """Past ``max_items``, drop the longest-unseen ended items (a re-sighting would then be `new`)."""
        excess = len(self._items) - self.cfg.max_items
        if excess <= 0:
            return
        closed = sorted((i for i in self._items.values() if not i.open), key=lambda i: i.last_seen)
        for item in closed[:excess]:
            del self._items[item.alert_id]
            self.stats.items_forgotten += 1
        if closed:
            log.warning(
                "tracker: forgot %d ended items beyond max_items=%d",
                min(excess, len(closed)),
                self.cfg.max_items,
            )
