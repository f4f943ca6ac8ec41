"""The simulated world: a river, its bridges, and seeded floating items that drift with the current.

Items have fixed world identities: the same ``RiverScene(seed)`` puts the same bottle at the
same place at time ``t`` no matter which pose looks at it, so multi-pass and multi-frame tests
can track it. Separate random streams for look, debris, distractors and bridges mean a
debris-free scene has exactly the same water as the littered one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from contract.camera import CameraPose
from contract.defaults import HOME_LAT, HOME_LON
from contract.geo import offset
from contract.messages import DEBRIS_CLASSES
from sim.camera.appearance import Appearance, Domain
from sim.camera.river import River, default_centerline

#: Real ground sizes (longest dimension, metres) per debris class, from the issue.
DEBRIS_SIZE_M: dict[str, tuple[float, float]] = {
    "bottle": (0.2, 0.35),
    "bag": (0.3, 0.8),
    "foam": (0.3, 1.5),
    "styrofoam": (0.3, 0.8),
    "vegetation": (0.5, 3.0),
}
DEBRIS_WEIGHTS: dict[str, float] = {
    "bottle": 0.3,
    "bag": 0.2,
    "foam": 0.2,
    "styrofoam": 0.15,
    "vegetation": 0.15,
}
#: Things on the water that are NOT debris (never in the truth list).
DISTRACTOR_SIZE_M: dict[str, tuple[float, float]] = {
    "boat": (3.0, 8.0),
    "bird": (0.4, 0.9),
    "glint": (0.15, 0.6),
    "reflection": (3.0, 14.0),
    "wake": (8.0, 25.0),
}
DISTRACTOR_WEIGHTS: dict[str, float] = {
    "boat": 0.1,
    "bird": 0.3,
    "glint": 0.25,
    "reflection": 0.15,
    "wake": 0.2,
}
DISTRACTOR_KINDS: tuple[str, ...] = tuple(DISTRACTOR_SIZE_M)
#: Leeway: the share of the wind's speed a floating thing drifts with, beside the current
#: (assumed from search-and-rescue figures for small floating objects: what stands higher out
#: of the water catches more).
LEEWAY: dict[str, tuple[float, float]] = {
    "bottle": (0.02, 0.04),
    "bag": (0.01, 0.03),
    "foam": (0.01, 0.02),
    "styrofoam": (0.03, 0.05),
    "vegetation": (0.005, 0.015),
}


def wind_to_ne(speed_mps: float, from_deg: float) -> tuple[float, float]:
    """The wind's velocity (the way it blows to), north and east m/s, from its speed and the
    direction it blows from (as ``SIM_WIND_DIR`` and a weather report give it)."""
    a = math.radians(from_deg)
    return -speed_mps * math.cos(a), -speed_mps * math.sin(a)


@dataclass(frozen=True)
class WorldItem:
    """One floating thing with a world identity; ``position_ne``/``heading_deg`` are pure in ``t``."""

    item_id: int
    kind: str
    is_debris: bool
    size_m: float
    s0: float
    lateral: float
    heading0_deg: float
    spin_deg_s: float
    speed_m_s: float
    submerged: float
    shape_seed: int
    lateral_speed_m_s: float = 0.0  # blown across the river (+ right of the flow) ...
    bank_m: float = math.inf  # ... until its offset reaches this: a bank, where it stays

    @property
    def class_index(self) -> int:
        return DEBRIS_CLASSES.index(self.kind) if self.is_debris else -1

    def arc_at(self, river: River, t: float) -> float:
        """Arc length at time ``t``; items leaving the modelled reach re-enter upstream."""
        return float((self.s0 + self.speed_m_s * t) % river.length_m)

    def lateral_at(self, t: float) -> float:
        """Offset from the centerline at time ``t`` (+ right of the flow)."""
        return float(np.clip(self.lateral + self.lateral_speed_m_s * t, -self.bank_m, self.bank_m))

    def position_ne(self, river: River, t: float) -> tuple[float, float]:
        p = river.point_at(self.arc_at(river, t), self.lateral_at(t))
        return float(p[0]), float(p[1])

    def heading_deg(self, t: float) -> float:
        return (self.heading0_deg + self.spin_deg_s * t) % 360.0


@dataclass(frozen=True)
class Bridge:
    """A deck across the river at arc length ``s``; drawn above the water, casting a shadow."""

    s: float
    width_m: float
    length_m: float
    skew_deg: float
    height_m: float
    deck_bgr: tuple[float, float, float]
    lanes: int


@dataclass
class RiverScene:
    """A seeded world. ``n_debris=0`` gives the same river without litter."""

    seed: int
    centerline: Sequence[tuple[float, float]] | None = None
    width_m: float = 60.0
    n_debris: int = 80
    n_distractors: int = 40
    #: kind -> relative frequency of the distractors (None: ``DISTRACTOR_WEIGHTS``); a data set
    #: rich in one confuser (birds) uses it, every other scene the defaults.
    distractor_weights: Mapping[str, float] | None = None
    n_bridges: int | None = None
    current_m_s: float = 0.3
    #: The wind's velocity, north and east m/s (``wind_to_ne``): debris drifts with its leeway of it
    wind_to_ne_mps: tuple[float, float] = (0.0, 0.0)
    domain: Domain = "train"
    appearance: Appearance | None = None
    origin: tuple[float, float] = (HOME_LAT, HOME_LON)
    river: River = field(init=False)
    debris: list[WorldItem] = field(init=False)
    distractors: list[WorldItem] = field(init=False)
    bridges: list[Bridge] = field(init=False)

    def __post_init__(self) -> None:
        line = list(self.centerline) if self.centerline else default_centerline(*self.origin)
        self.river = River.from_lat_lon(self.origin[0], self.origin[1], line, self.width_m)
        ss = np.random.SeedSequence(self.seed)
        look, deb, dis, brg, lee = (np.random.default_rng(s) for s in ss.spawn(5))
        if self.appearance is None:
            self.appearance = Appearance.sample(look, self.domain)
        self.bridges = self._bridges(brg)
        self.debris = self._blown(self._debris(deb), lee)
        self.distractors = self._distractors(dis, first_id=100_000)

    @property
    def items(self) -> list[WorldItem]:
        return self.debris + self.distractors

    def to_lat_lon(self, north: float, east: float) -> tuple[float, float]:
        return offset(self.origin[0], self.origin[1], north, east)

    def random_pose(
        self,
        rng: np.random.Generator,
        alt_m: tuple[float, float] = (20.0, 80.0),
        gimbal_pitch_deg: tuple[float, float] = (-90.0, -60.0),
        over_water: float = 0.8,
    ) -> CameraPose:
        """A plausible patrol pose: somewhere along the river, mostly over the water (the rest of
        the time over a bank), heading roughly along the flow, for sampling training frames."""
        s = float(rng.uniform(0.05, 0.95) * self.river.length_m)
        half = self.width_m / 2
        lateral = (
            rng.uniform(-half, half)
            if rng.random() < over_water
            else rng.choice([-1, 1]) * (half + rng.uniform(0, 20))
        )
        n, e = self.river.point_at(s, lateral)
        lat, lon = self.to_lat_lon(float(n), float(e))
        heading = _heading_of(self.river.direction_at(s)) + rng.choice([0.0, 180.0]) + rng.normal(0, 20)
        return CameraPose(
            lat=lat,
            lon=lon,
            alt_m=float(rng.uniform(*alt_m)),
            roll_deg=float(rng.normal(0, 3)),
            pitch_deg=float(rng.normal(0, 3)),
            yaw_deg=float(heading % 360.0),
            gimbal_pitch_deg=float(rng.uniform(*gimbal_pitch_deg)),
        )

    def _bridges(self, rng: np.random.Generator) -> list[Bridge]:
        n = self.n_bridges if self.n_bridges is not None else int(rng.integers(1, 3))
        out = []
        for k in range(n):
            s = self.river.length_m * (k + rng.uniform(0.25, 0.75)) / n
            out.append(
                Bridge(
                    s=float(s),
                    width_m=float(rng.uniform(8, 22)),
                    length_m=float(self.width_m + rng.uniform(30, 80)),
                    skew_deg=float(rng.uniform(-15, 15)),
                    height_m=float(rng.uniform(5, 12)),
                    deck_bgr=tuple(
                        float(x) for x in np.clip(rng.uniform(70, 140) + rng.normal(0, 5, 3), 0, 255)
                    ),
                    lanes=int(rng.integers(2, 5)),
                )
            )
        return out

    def _speed(self, lateral: float, rng: np.random.Generator) -> float:
        """Slower near the banks (a parabolic current profile), with per-item scatter."""
        frac = min(abs(lateral) / (self.width_m / 2), 1.0)
        return float(self.current_m_s * (1.0 - 0.7 * frac * frac) * rng.uniform(0.8, 1.2))

    def _debris(self, rng: np.random.Generator) -> list[WorldItem]:
        classes = list(DEBRIS_WEIGHTS)
        p = np.array([DEBRIS_WEIGHTS[c] for c in classes])
        items: list[WorldItem] = []
        half = self.width_m / 2
        cluster: tuple[float, float] | None = None
        for i in range(self.n_debris):
            kind = str(rng.choice(classes, p=p / p.sum()))
            lo, hi = DEBRIS_SIZE_M[kind]
            size = float(rng.uniform(lo, hi))
            margin = size / 2 + 0.5
            mode = rng.random()
            if cluster is not None and mode < 0.35:  # litter gathers in rafts
                s = cluster[0] + rng.normal(0, 3)
                lat = cluster[1] + rng.normal(0, 2)
            elif mode < 0.7:  # and along the banks, where the current is slow
                s = rng.uniform(0, self.river.length_m)
                lat = (half - margin - rng.exponential(3.0)) * (1 if rng.random() < 0.5 else -1)
                cluster = (s, lat)
            else:
                s = rng.uniform(0, self.river.length_m)
                lat = rng.uniform(-half + margin, half - margin)
            lat = float(np.clip(lat, -half + margin, half - margin))
            items.append(
                WorldItem(
                    item_id=i + 1,
                    kind=kind,
                    is_debris=True,
                    size_m=size,
                    s0=float(s % self.river.length_m),
                    lateral=lat,
                    heading0_deg=float(rng.uniform(0, 360)),
                    spin_deg_s=float(rng.normal(0, 2)),
                    speed_m_s=self._speed(lat, rng),
                    submerged=float(rng.uniform(0, 0.5)) if rng.random() < 0.4 else 0.0,
                    shape_seed=int(rng.integers(2**31)),
                )
            )
        return items

    def _blown(self, items: list[WorldItem], rng: np.random.Generator) -> list[WorldItem]:
        """Debris drifts with its leeway of the wind too: along the river, with or against the
        current, and across it until a bank stops it. The share across is taken where the item
        starts: a reach bends little over one patrol's drift. Calm air changes nothing (and
        draws nothing: a calm scene is the same as before the wind was modelled)."""
        wn, we = self.wind_to_ne_mps
        if wn == 0.0 and we == 0.0:
            return items
        half = self.width_m / 2
        out = []
        for it in items:
            k = float(rng.uniform(*LEEWAY[it.kind]))
            dn, de = self.river.direction_at(it.s0)
            out.append(
                replace(
                    it,
                    speed_m_s=it.speed_m_s + k * (wn * dn + we * de),
                    lateral_speed_m_s=k * (we * dn - wn * de),  # along the right normal (-de, dn)
                    bank_m=half - it.size_m / 2 - 0.5,
                )
            )
        return out

    def _distractors(self, rng: np.random.Generator, first_id: int) -> list[WorldItem]:
        weights = DISTRACTOR_WEIGHTS if self.distractor_weights is None else self.distractor_weights
        unknown = set(weights) - set(DISTRACTOR_KINDS)
        if unknown or not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise ValueError(
                f"distractor_weights {dict(weights)}: kinds must be among {DISTRACTOR_KINDS}, "
                "weights >= 0 with a positive sum"
            )
        kinds = list(weights)
        p = np.array([weights[k] for k in kinds], float)
        half = self.width_m / 2
        items: list[WorldItem] = []
        for i in range(self.n_distractors):
            kind = str(rng.choice(kinds, p=p / p.sum()))
            lo, hi = DISTRACTOR_SIZE_M[kind]
            size = float(rng.uniform(lo, hi))
            s = float(rng.uniform(0, self.river.length_m))
            flow_heading = _heading_of(self.river.direction_at(s))
            if kind == "reflection":  # along the bank, parallel to it
                lat = (half - rng.uniform(1, 5)) * (1 if rng.random() < 0.5 else -1)
                heading, speed, spin = flow_heading, 0.0, 0.0
            elif kind in ("boat", "wake"):
                lat = rng.uniform(-half * 0.6, half * 0.6)
                down = rng.random() < 0.5
                heading = flow_heading if down else (flow_heading + 180) % 360
                speed = float(rng.uniform(1.0, 3.0)) * (1 if down else -1)
                if kind == "wake":
                    speed = self.current_m_s
                spin = 0.0
            else:
                margin = min(size, half / 2)
                lat = rng.uniform(-half + margin, half - margin)
                heading = float(rng.uniform(0, 360))
                speed = self._speed(lat, rng)
                spin = float(rng.normal(0, 3))
            items.append(
                WorldItem(
                    item_id=first_id + i,
                    kind=kind,
                    is_debris=False,
                    size_m=size,
                    s0=s,
                    lateral=float(lat),
                    heading0_deg=float(heading),
                    spin_deg_s=spin,
                    speed_m_s=float(speed),
                    submerged=0.0,
                    shape_seed=int(rng.integers(2**31)),
                )
            )
        return items


def _heading_of(d_ne: np.ndarray) -> float:
    return math.degrees(math.atan2(float(d_ne[1]), float(d_ne[0]))) % 360.0
