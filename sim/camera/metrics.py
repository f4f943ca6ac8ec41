"""Prometheus metrics of the synthetic camera, so a long simulation run shows its frame rate."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

FRAMES = Counter("riverpatrol_sim_camera_frames_total", "Frames rendered")
RENDER_SECONDS = Histogram(
    "riverpatrol_sim_camera_render_seconds",
    "Wall time to render one frame",
    buckets=(0.01, 0.02, 0.033, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TILES = Counter("riverpatrol_sim_camera_tiles_total", "Ground texture tiles generated")
BAD_POSES = Counter("riverpatrol_sim_camera_bad_poses_total", "Poses rejected (no water in view)")
