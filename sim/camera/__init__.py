"""Synthetic aerial camera over a river, with exact ground truth.

Stable API (the detector's training pipeline and the edge tests build on it)::

    from contract.camera import CameraModel, CameraMount, CameraPose
    from sim.camera import RiverScene, Appearance, render, Renderer, Frame, TruthBox, footprint

    scene = RiverScene(seed=7)                       # default river through contract.defaults HOME
    scene = RiverScene(seed=7, n_debris=0)           # same water, no litter
    scene = RiverScene(seed=7, domain="heldout")     # water/light drawn from disjoint ranges
    scene = RiverScene(seed=7, centerline=[(lat, lon), ...], width_m=80, n_debris=200)
    pose = CameraPose(lat=..., lon=..., alt_m=40, yaw_deg=90, gimbal_pitch_deg=-90)
    frame = render(scene, pose, CameraModel.default(), t=12.5)   # or Renderer(scene, mount).render(...)
    frame.image          # (H, W, 3) uint8 BGR
    frame.truth          # [TruthBox]: debris only; class_index into contract.messages.DEBRIS_CLASSES
    frame.distractors    # [TruthBox]: boats, birds, glint, reflections, wakes (never debris)
    frame.truth_dict()   # JSON-ready
    footprint(pose, camera)  # lat/lon of the image's 4 corners on the water (TL, TR, BR, BL)

Boxes are ``x1, y1, x2, y2`` in pixel-extent coordinates (the image spans ``[0, W] x [0, H]``),
clipped to the image, with ``visible_fraction`` = fraction of the unclipped box inside the image
times the fraction not hidden under a bridge. Items keep their world identity (``item_id``)
across frames; ``WorldItem.position_ne(river, t)`` is their deterministic drift with the current.
A frame is a pure function of (scene seed and options, pose, camera, t), whatever was rendered
before. Boats and birds are drawn above debris and bridges/overhanging trees above both; what they
hide lowers ``visible_fraction`` (fully hidden items are left out of the truth).

World: ``RiverScene`` = river (centerline + width; default ~1.6 km through contract HOME),
concrete or natural banks, a road and roofs behind urban embankments, bridges with shadows,
``n_debris`` items of ``DEBRIS_CLASSES`` at real sizes (``DEBRIS_SIZE_M``; drifting with a
parabolic current profile, many along the banks and in rafts) and ``n_distractors`` of
``DISTRACTOR_KINDS`` (boat, bird, glint, reflection, wake). ``scene.random_pose(rng)`` samples
patrol-like poses. ``Appearance.sample(rng, domain)`` draws the look; "train" and "heldout" use
disjoint water colour families, sun elevations and wave scales. ``render(..., jpeg_quality=q)``
adds JPEG artefacts (``scene.appearance.jpeg_quality`` is a sampled suggestion).

Speed: one ``Renderer`` per scene keeps ground tiles, sprites and lens maps; frames near each
other (a flight, a patrol leg) reuse tiles. A frame at a new place costs ~1-3 s at 1920x1080
(tile generation), far less at a smaller ``CameraModel.scaled(w, h)``. ``riverpatrol sim camera
bench`` prints the frame rate. Metrics: ``sim.camera.metrics`` (Prometheus).
"""

from contract.camera import CameraModel, CameraMount, CameraPose
from contract.camera import ground_footprint as _ground_footprint
from sim.camera.appearance import Appearance
from sim.camera.render import Frame, Renderer, TruthBox, render
from sim.camera.scene import DEBRIS_SIZE_M, DISTRACTOR_KINDS, RiverScene, WorldItem, wind_to_ne


def footprint(
    pose: CameraPose, camera: CameraModel | None = None, mount: CameraMount | None = None
) -> list[tuple[float, float]]:
    """The four ground corners (lat, lon) of the image for ``pose``: TL, TR, BR, BL."""
    return _ground_footprint(pose, camera or CameraModel.default(), mount or CameraMount())


__all__ = [
    "DEBRIS_SIZE_M",
    "DISTRACTOR_KINDS",
    "Appearance",
    "CameraModel",
    "CameraMount",
    "CameraPose",
    "Frame",
    "Renderer",
    "RiverScene",
    "TruthBox",
    "WorldItem",
    "footprint",
    "render",
    "wind_to_ne",
]
