"""Camera faults for testers: lost frames, corrupt frames and camera blackouts; seeded and pure.

What the edge agent must live through on a real drone besides a bad radio link: a frame the
grabber never got, a JPEG cut short by a glitching cable or encoder, and the camera gone for a
while (a reboot, a loose connector). Each frame's fate depends only on the seed and the frame's
number, so a run gives the same faults however fast the machine renders.
"""

from __future__ import annotations

import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.settings import Window
from sim.vehicle.faults import rng_for

Fate = Literal["sent", "dropped", "corrupt"]


class CameraFaults(BaseModel):
    """Which frames the simulated camera loses or corrupts, and when it is gone altogether."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drop_pct: float = Field(default=0.0, ge=0, le=100, description="Frames rendered and never sent, %.")
    corrupt_pct: float = Field(
        default=0.0, ge=0, le=100, description="Frames sent with their JPEG cut short, %."
    )
    blackouts: list[Window] = Field(
        default_factory=list,
        description="Windows (simulated s) with no camera: the feed's connections are closed and new "
        "ones refused until the window ends.",
    )
    seed: int = Field(default=0, description="Seed of which frames are lost or corrupted.")

    @model_validator(mode="after")
    def _at_most_all(self) -> CameraFaults:
        if self.drop_pct + self.corrupt_pct > 100:
            total = self.drop_pct + self.corrupt_pct
            raise ValueError(f"frames lost + corrupted is {total:g} %, more than all of them (100 %)")
        return self

    def _draw(self, seq: int) -> random.Random:
        return rng_for(self.seed, f"camera:{seq}")  # the vehicle's faults draw their streams so too

    def fate(self, seq: int) -> Fate:
        """What happens to frame ``seq``: sent whole, dropped, or sent corrupt."""
        u = self._draw(seq).random() * 100.0
        if u < self.drop_pct:
            return "dropped"
        if u < self.drop_pct + self.corrupt_pct:
            return "corrupt"
        return "sent"

    def blackout(self, t: float) -> bool:
        """Whether the camera is gone at simulated time ``t``."""
        return any(w.contains(t) for w in self.blackouts)

    def corrupt(self, seq: int, jpeg: bytes) -> bytes:
        """Frame ``seq``'s JPEG cut at a seeded point in its middle half: the header survives, the
        end-of-image marker does not (what a transfer that stopped early leaves)."""
        rng = self._draw(seq)
        rng.random()  # the draw fate() used
        return jpeg[: int(len(jpeg) * rng.uniform(0.25, 0.75))]
