"""The height and lens of each frame of a drone video, from the telemetry subtitle track a DJI
drone writes beside it (``DJI_0001.MP4`` + ``DJI_0001.SRT``).

A video file says nothing of the ground scale, but its ``.SRT`` does, frame by frame: the height
above take-off (``rel_alt``, or ``H 30.0m`` on older models), the lens as a 35 mm equivalent
(``focal_len``), on enterprise models the gimbal's pitch (``gb_pitch``). ``riverpatrol edge detect
VIDEO`` runs each frame at the model's trained scale from it (``frame_scale``), as the edge agent
does in flight from MAVLink. ``parse_dji_srt`` is pure; ``load_track`` and ``sidecar_srt`` touch disk.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path

from edge.detect.photo_scale import PhotoMeta, PhotoScale, photo_scale

_NUMBER = r"([-+]?\d+(?:\.\d+)?)"
_REL_ALT = (re.compile(rf"rel_alt\s*:\s*{_NUMBER}"), re.compile(rf"\bH\s+{_NUMBER}\s*m\b"))
_FOCAL = re.compile(rf"focal_len\s*:\s*{_NUMBER}")
_PITCH = re.compile(rf"gb_pitch\s*:\s*{_NUMBER}")
#: Some models write the 35 mm-equivalent focal length in tenths of a millimetre (``280``).
_FOCAL_TENTHS_ABOVE_MM = 200.0


class TelemetryError(ValueError):
    """A subtitle file that is not a telemetry track; the message names the file."""


@dataclass(frozen=True)
class FrameTelemetry:
    """What the drone recorded for the frames shown from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float
    rel_alt_m: float | None = None
    focal_35mm_mm: float | None = None
    gimbal_pitch_deg: float | None = None


def _first(patterns, text: str) -> float | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            return float(match.group(1))
    return None


def parse_dji_srt(text: str, where: str = "subtitles") -> list[FrameTelemetry]:
    """Each subtitle's telemetry, in time order. ``TelemetryError`` for text that is not SRT, or SRT
    with no height in any subtitle (a film's subtitles, say)."""
    import srt

    try:
        subtitles = sorted(srt.parse(text), key=lambda s: s.start)
    except (srt.SRTParseError, ValueError) as exc:
        raise TelemetryError(f"{where}: not an SRT subtitle file ({exc})") from exc
    track = []
    for sub in subtitles:
        focal = _first([_FOCAL], sub.content)
        if focal is not None and focal > _FOCAL_TENTHS_ABOVE_MM:
            focal /= 10.0
        track.append(
            FrameTelemetry(
                start_s=sub.start.total_seconds(),
                end_s=sub.end.total_seconds(),
                rel_alt_m=_first(_REL_ALT, sub.content),
                focal_35mm_mm=focal if focal and focal > 0 else None,
                gimbal_pitch_deg=_first([_PITCH], sub.content),
            )
        )
    if not any(t.rel_alt_m is not None for t in track):
        raise TelemetryError(f"{where}: no drone height (rel_alt, H) in any of {len(track)} subtitles")
    return track


def telemetry_at(track: list[FrameTelemetry], t_s: float) -> FrameTelemetry | None:
    """The subtitle shown at ``t_s`` seconds into the video (the last one started), None before the
    first or after the last has ended."""
    k = bisect.bisect_right([t.start_s for t in track], t_s) - 1
    if k < 0 or t_s > track[k].end_s:
        return None
    return track[k]


def frame_scale(
    telemetry: FrameTelemetry | None,
    width: int,
    height: int,
    altitude_m: float | None = None,
    focal_35mm_mm: float | None = None,
) -> PhotoScale:
    """A video frame's centre GSD from its telemetry (``altitude_m`` / ``focal_35mm_mm`` override
    the track's); ``PhotoScaleUnknown`` saying what is missing."""
    telemetry = telemetry or FrameTelemetry(0.0, 0.0)
    meta = PhotoMeta(
        width_px=width,
        height_px=height,
        focal_35mm_mm=focal_35mm_mm or telemetry.focal_35mm_mm,
        relative_altitude_m=telemetry.rel_alt_m,
        gimbal_pitch_deg=telemetry.gimbal_pitch_deg,
        height_tag="SRT rel_alt",
        focal_tag="given" if focal_35mm_mm else "SRT focal_len",
    )
    return photo_scale(meta, altitude_m)


def sidecar_srt(video: Path) -> Path | None:
    """The telemetry track beside ``video`` (same name, ``.SRT`` or ``.srt``), if there is one."""
    for suffix in (".SRT", ".srt"):
        candidate = video.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def load_track(path: Path) -> list[FrameTelemetry]:
    """``parse_dji_srt`` of the file at ``path``; ``TelemetryError`` naming it when unreadable."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise TelemetryError(f"{path}: {exc.strerror or exc}") from exc
    return parse_dji_srt(text, str(path))
