"""How the river looks: water colour, turbidity, waves, sun, haze and camera artefacts.

Drawn from a seed so a data set is reproducible, with a ``domain`` knob: ``"train"`` and
``"heldout"`` use disjoint ranges for water colour family, sun elevation and wave scale, so a
detector can be scored on water and light it never trained on. ``"shift"`` is a third look for
choosing operating points: water colour families of its own (neither trained on nor held out)
under the training sun and waves, so a choice that only holds on the training water shows up
before the held-out look is ever scored. ``"extreme"`` is the other half of the held-out shift:
the training water under sun and waves beyond both the training and the held-out ranges (sun
5-12 or 85-90 degrees, waves 0.12-0.25 or 4-6 m), so a validation can see what unfamiliar light
and wave scale do without touching the held-out ranges. ``"far"`` is both at once: the shift
look's water under the extreme look's sun and waves, unfamiliar in colour, light and wave scale
together as the held-out look is, still without touching its ranges.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict

Domain = Literal["train", "heldout", "shift", "extreme", "far", "any"]
DOMAINS: tuple[str, ...] = get_args(Domain)  # the one list of looks (the camera CLI checks it too)
BGR = tuple[float, float, float]

#: Water colour families (BGR). Train and held-out families do not overlap.
WATER_TRAIN: dict[str, BGR] = {
    "olive": (70, 110, 100),
    "muddy": (72, 105, 122),
    "teal": (95, 110, 75),
    "grey-green": (95, 110, 95),
}
WATER_HELDOUT: dict[str, BGR] = {
    "blue-grey": (120, 100, 80),
    "yellow-silt": (95, 150, 170),
    "dark-emerald": (70, 85, 40),
}
#: The "shift" look's water: families in neither set above.
WATER_SHIFT: dict[str, BGR] = {
    "tannin-brown": (45, 75, 105),
    "glacial-jade": (140, 150, 105),
    "slate": (100, 98, 96),
}
WATER_BY_DOMAIN: dict[str, dict[str, BGR]] = {
    "train": WATER_TRAIN,
    "heldout": WATER_HELDOUT,
    "shift": WATER_SHIFT,
    "extreme": WATER_TRAIN,
    "far": WATER_SHIFT,
}
SILT: BGR = (110, 150, 170)


class Appearance(BaseModel):
    """Every look parameter of a scene; ``sample`` draws one, or set the fields by hand."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str = "train"
    water_family: str = "olive"
    water_bgr: BGR = WATER_TRAIN["olive"]
    turbidity: float = 0.3
    wave_length_m: float = 1.2
    wave_contrast: float = 0.12
    ripple_contrast: float = 0.08
    wind_dir_deg: float = 30.0
    wind_speed: float = 0.5
    sun_elev_deg: float = 50.0
    sun_az_deg: float = 140.0
    glint: float = 0.8
    sky_bgr: BGR = (215, 200, 185)
    haze: float = 0.1
    clouds: float = 0.3  # how much cloud reflection shows on the water
    exposure: float = 1.0
    contrast: float = 1.0
    tint_bgr: BGR = (1.0, 1.0, 1.0)
    vignetting: float = 0.2
    noise_sigma: float = 2.0
    blur_sigma: float = 0.0
    jpeg_quality: int | None = None
    concrete_bgr: BGR = (150, 155, 155)
    vegetation_bgr: BGR = (50, 100, 70)
    soil_bgr: BGR = (90, 110, 125)

    @classmethod
    def sample(cls, rng: np.random.Generator, domain: Domain = "train") -> Appearance:
        """A random look from ``domain``'s ranges."""
        if domain not in DOMAINS:
            raise ValueError(f"appearance domain must be one of {list(DOMAINS)}, got {domain!r}")
        if domain == "any":
            domain = "train" if rng.random() < 0.5 else "heldout"
        families = WATER_BY_DOMAIN[domain]
        family = str(rng.choice(sorted(families)))
        base = np.array(families[family]) * rng.uniform(0.85, 1.15) + rng.normal(0, 6, 3)
        if domain in ("train", "shift"):
            sun_elev = rng.uniform(30, 70)
            wave = rng.uniform(0.5, 2.0)
        elif domain in ("extreme", "far"):  # outside the training and the held-out ranges, both sides
            sun_elev = rng.uniform(5, 12) if rng.random() < 0.6 else rng.uniform(85, 90)
            wave = rng.uniform(4.0, 6.0) if rng.random() < 0.5 else rng.uniform(0.12, 0.25)
        else:
            sun_elev = rng.uniform(12, 30) if rng.random() < 0.6 else rng.uniform(70, 85)
            wave = rng.uniform(2.0, 4.0) if rng.random() < 0.5 else rng.uniform(0.25, 0.5)
        low_sun = sun_elev < 30
        sky = np.array([220, 205, 190]) if not low_sun else np.array([170, 190, 215])
        sky = sky * rng.uniform(0.85, 1.05) + rng.normal(0, 8, 3)
        veg_season = rng.uniform(0, 1)
        vegetation = np.array([45, 105, 65]) * (1 - veg_season) + np.array([50, 95, 105]) * veg_season
        return cls(
            domain=domain,
            water_family=family,
            water_bgr=_clip3(base),
            turbidity=float(rng.uniform(0.0, 0.7)),
            wave_length_m=float(wave),
            wave_contrast=float(rng.uniform(0.05, 0.2)),
            ripple_contrast=float(rng.uniform(0.03, 0.12)),
            wind_dir_deg=float(rng.uniform(0, 360)),
            wind_speed=float(rng.uniform(0.2, 1.0)),
            sun_elev_deg=float(sun_elev),
            sun_az_deg=float(rng.uniform(0, 360)),
            glint=float(rng.uniform(0.3, 1.2)),
            sky_bgr=_clip3(sky),
            haze=float(rng.uniform(0.0, 0.25)),
            clouds=float(rng.uniform(0.0, 0.8)),
            exposure=float(rng.uniform(0.8, 1.2) * (0.85 if low_sun else 1.0)),
            contrast=float(rng.uniform(0.85, 1.15)),
            tint_bgr=tuple(float(x) for x in rng.uniform(0.93, 1.07, 3)),
            vignetting=float(rng.uniform(0.05, 0.35)),
            noise_sigma=float(rng.uniform(0.5, 4.0)),
            blur_sigma=float(rng.choice([0.0, 0.0, rng.uniform(0.4, 1.2)])),
            jpeg_quality=int(rng.integers(55, 95)) if rng.random() < 0.7 else None,
            concrete_bgr=_clip3(
                rng.uniform(110, 180) * np.array([0.95, 0.98, 1.0]) * rng.uniform(0.97, 1.03, 3)
            ),
            vegetation_bgr=_clip3(vegetation * rng.uniform(0.8, 1.2)),
            soil_bgr=_clip3(np.array([90, 110, 125]) * rng.uniform(0.8, 1.2)),
        )

    def sun_direction_ned(self) -> np.ndarray:
        """Unit vector from the water towards the sun, NED."""
        el, az = math.radians(self.sun_elev_deg), math.radians(self.sun_az_deg)
        return np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), -math.sin(el)])


def _clip3(a: np.ndarray) -> BGR:
    c = np.clip(a, 0, 255)
    return (float(c[0]), float(c[1]), float(c[2]))
