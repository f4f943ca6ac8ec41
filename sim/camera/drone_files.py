"""Save rendered frames as a drone saves its files: photos whose EXIF and DJI-style XMP say how high
they were taken and through what lens, and videos with the per-frame telemetry subtitle track
(``.SRT``) a DJI writes beside them.

Real drone files carry their ground scale (height above take-off in XMP ``RelativeAltitude`` or
the SRT's ``rel_alt``, the lens as a 35 mm-equivalent focal length, some a per-unit
``CalibratedFocalLength``), and the detector's tools read it (``edge.detect.photo_scale``,
``edge.detect.video_telemetry``). Files written this way let a tester exercise that path with
exact truth: the metadata is written as a camera writes it, focal length rounded and all.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

from contract.camera import CameraModel, focal_35mm_from_px

MAKE, MODEL = "RiverPatrol", "sim.camera"

_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"
    drone-dji:RelativeAltitude="{alt:+.2f}"
    drone-dji:GimbalPitchDegree="{pitch:+.2f}"
    drone-dji:GimbalYawDegree="{yaw:+.2f}"{calibrated}/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def focal_35mm(camera: CameraModel) -> int:
    """The lens's 35 mm-equivalent focal length, whole millimetres as EXIF stores it."""
    return round(focal_35mm_from_px(camera.fx, camera.width, camera.height))


def photo_bytes(
    image_bgr: np.ndarray,
    camera: CameraModel,
    altitude_m: float,
    gimbal_pitch_deg: float = -90.0,
    yaw_deg: float = 0.0,
    quality: int = 92,
    calibrated_focal: bool = False,
    lat: float | None = None,
    lon: float | None = None,
) -> bytes:
    """``image_bgr`` (OpenCV order) as a JPEG with the EXIF and XMP a drone photo carries.

    ``altitude_m`` is written as ``RelativeAltitude`` (a drone's height above its take-off point),
    ``yaw_deg`` as ``GimbalYawDegree`` (the camera's heading: the vehicle's under the default
    stabilized mount), ``lat``/``lon`` as EXIF GPS; ``calibrated_focal`` adds
    ``CalibratedFocalLength`` (the lens's focal length in pixels, which enterprise drones write)
    beside the rounded 35 mm equivalent every camera writes.
    """
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = MAKE, MODEL
    sub = exif.get_ifd(0x8769)
    sub[0xA405] = focal_35mm(camera)  # FocalLengthIn35mmFilm
    sub[0xA002], sub[0xA003] = camera.width, camera.height  # PixelXDimension, PixelYDimension
    if lat is not None and lon is not None:
        gps = exif.get_ifd(0x8825)
        gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(lat)
        gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(lon)
    xmp = _XMP.format(
        alt=altitude_m,
        pitch=gimbal_pitch_deg,
        yaw=yaw_deg,
        calibrated=f'\n    drone-dji:CalibratedFocalLength="{camera.fx:.2f}"' if calibrated_focal else "",
    )
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image_bgr[:, :, ::-1])).save(
        out, "JPEG", quality=quality, exif=exif, xmp=xmp.encode("utf-8")
    )
    return out.getvalue()


def _dms(degrees: float) -> tuple[float, float, float]:
    """Degrees as EXIF GPS writes them: whole degrees, whole minutes, seconds."""
    d = abs(degrees)
    whole, minutes = int(d), int((d - int(d)) * 60)
    return float(whole), float(minutes), round((d - whole - minutes / 60) * 3600, 6)


def save_photo(path: Path | str, image_bgr: np.ndarray, camera: CameraModel, altitude_m: float, **kw) -> Path:
    """Write ``photo_bytes`` to ``path``."""
    path = Path(path)
    path.write_bytes(photo_bytes(image_bgr, camera, altitude_m, **kw))
    return path


@dataclass(frozen=True)
class VideoFrameLog:
    """What a DJI drone writes for one video frame in its ``.SRT`` track."""

    lat: float
    lon: float
    rel_alt_m: float
    focal_35mm_mm: float
    gimbal_pitch_deg: float | None = None
    yaw_deg: float = 0.0  # the camera's heading (the vehicle's, under the default stabilized mount)


def srt_text(frames: list[VideoFrameLog], fps: float) -> str:
    """The ``.SRT`` telemetry track of a video at ``fps``, one subtitle a frame, as a DJI Mini 3 /
    Mavic 3 writes it (enterprise models add the gimbal's ``gb_pitch``)."""
    import srt

    subtitles = []
    for k, f in enumerate(frames):
        gimbal = (
            ""
            if f.gimbal_pitch_deg is None
            else f" [gb_yaw: {f.yaw_deg:.1f} gb_pitch: {f.gimbal_pitch_deg:.1f} gb_roll: 0.0]"
        )
        content = (
            f'<font size="28">FrameCnt: {k + 1}, DiffTime: {1000 / fps:.0f}ms\n'
            f"[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [color_md: default] "
            f"[focal_len: {f.focal_35mm_mm:.2f}] [latitude: {f.lat:.6f}] [longitude: {f.lon:.6f}] "
            f"[rel_alt: {f.rel_alt_m:.3f} abs_alt: {f.rel_alt_m + 12.0:.3f}]{gimbal} </font>"
        )
        start, end = timedelta(seconds=k / fps), timedelta(seconds=(k + 1) / fps)
        subtitles.append(srt.Subtitle(index=k + 1, start=start, end=end, content=content))
    return srt.compose(subtitles, reindex=False)
