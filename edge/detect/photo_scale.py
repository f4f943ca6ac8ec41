"""The ground scale of a drone photo, read from what the drone wrote into it (EXIF, DJI XMP).

The detector finds small debris best at the ground scale it was trained at, so it runs a frame of
known ground sample distance (GSD, metres of water per pixel) at that scale (``Detector.detect(
gsd_m=)``). In flight the edge agent knows the GSD from telemetry; a photo on disk carries it too:
the height it was taken from (DJI's XMP ``RelativeAltitude``, or the operator's ``--altitude-m``)
over the lens's focal length in pixels (DJI's ``CalibratedFocalLength``, else EXIF's 35 mm
equivalent or focal length and focal-plane resolution). Without it a 4000x3000 photo from 30 m
runs as it comes, tiled at its own pixels, where the model sees a bottle at 2-3x the size it
learned (``bench/photo_bench.py`` measures what that costs).

``photo_scale`` is pure (a ``PhotoMeta`` in, a ``PhotoScale`` out, ``PhotoScaleUnknown`` saying
what is missing); ``read_photo_meta`` is the thin adapter over Pillow; ``read_photo`` and
``image_gsd`` are what the commands call per image.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from contract.camera import focal_px_from_35mm

#: Beyond this tilt from straight down the ground scale changes too much across the frame for one
#: figure to stand for it (at 20 degrees the near and far edges of a 73 degree view differ ~2x).
MAX_OFF_NADIR_DEG = 20.0
#: How far above the take-off point a photo must be to be an aerial one.
MIN_ALTITUDE_M = 2.0
#: Millimetres per EXIF FocalPlaneResolutionUnit (2 inch, 3 cm; 4 mm and 5 um by common use).
_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}
#: Only the head of a file is searched for XMP when Pillow did not hand it over.
_XMP_SCAN_BYTES = 512 * 1024


class PhotoScaleUnknown(ValueError):
    """The photo does not say enough to know its ground scale; the message says what is missing."""


@dataclass(frozen=True)
class PhotoMeta:
    """What a photo says of its camera and height. Sizes are the image as it is now (it may have
    been resized since it was taken); ``original_*`` the size the camera wrote it at."""

    width_px: int
    height_px: int
    focal_35mm_mm: float | None = None  # EXIF FocalLengthIn35mmFilm
    focal_mm: float | None = None  # EXIF FocalLength
    focal_plane_px_per_mm: float | None = None  # EXIF FocalPlaneXResolution / unit
    calibrated_focal_px: float | None = None  # DJI XMP CalibratedFocalLength (of the original)
    original_width_px: int | None = None  # EXIF PixelXDimension
    original_height_px: int | None = None  # EXIF PixelYDimension
    relative_altitude_m: float | None = None  # DJI XMP RelativeAltitude (above take-off)
    gimbal_pitch_deg: float | None = None  # DJI XMP GimbalPitchDegree (-90 = straight down)
    camera: str = ""  # EXIF Make + Model, for messages
    height_tag: str = "XMP RelativeAltitude"  # where the height came from, for messages
    focal_tag: str = "EXIF"  # where the 35 mm-equivalent focal length came from
    lat: float | None = None  # EXIF GPS, degrees
    lon: float | None = None
    heading_deg: float | None = None  # the camera's, from north: XMP GimbalYawDegree (else FlightYawDegree)
    orientation: int = 1  # EXIF Orientation: 1 as taken; others are shown turned or mirrored


@dataclass(frozen=True)
class PhotoScale:
    """A photo's ground sample distance at the image centre, and what it was worked out from."""

    gsd_m: float
    altitude_m: float
    focal_px: float
    altitude_from: str
    focal_from: str
    off_nadir_deg: float | None = None

    def describe(self) -> str:
        """One line for a person: the GSD and its sources."""
        tilted = self.off_nadir_deg is not None and self.off_nadir_deg >= 0.5
        tilt = f", camera {self.off_nadir_deg:.0f} deg off straight down" if tilted else ""
        return (
            f"{self.gsd_m * 100:.2f} cm/px from {self.altitude_m:.1f} m ({self.altitude_from}) over "
            f"{self.focal_px:.0f} px focal length ({self.focal_from}){tilt}"
        )


def _resize_factor(meta: PhotoMeta) -> float:
    """How much smaller (or larger) the image is now than the camera wrote it; 1 when unknown.
    Longer sides are compared, so an image turned upright by its EXIF orientation still matches."""
    if not meta.original_width_px or not meta.original_height_px:
        return 1.0
    return max(meta.width_px, meta.height_px) / max(meta.original_width_px, meta.original_height_px)


def focal_length_px(meta: PhotoMeta) -> tuple[float, str]:
    """The focal length in pixels of the image as it is now, and which tag gave it.

    Preference: DJI's per-unit calibration, then the 35 mm equivalent (quoted against the full-frame
    diagonal, so it holds for a resized image as it is), then focal length x focal-plane resolution.
    """
    if meta.calibrated_focal_px and meta.calibrated_focal_px > 0:
        return meta.calibrated_focal_px * _resize_factor(meta), "XMP CalibratedFocalLength"
    if meta.focal_35mm_mm and meta.focal_35mm_mm > 0:
        return focal_px_from_35mm(meta.focal_35mm_mm, meta.width_px, meta.height_px), (
            f"{meta.focal_tag} {meta.focal_35mm_mm:g} mm 35 mm-equivalent"
        )
    if meta.focal_mm and meta.focal_mm > 0 and meta.focal_plane_px_per_mm and meta.focal_plane_px_per_mm > 0:
        return meta.focal_mm * meta.focal_plane_px_per_mm * _resize_factor(meta), (
            f"EXIF {meta.focal_mm:g} mm x focal-plane resolution"
        )
    raise PhotoScaleUnknown(
        "no focal length it can use (EXIF FocalLengthIn35mmFilm, or FocalLength with "
        "FocalPlaneXResolution, or DJI CalibratedFocalLength): give --lens-mm (the camera's quoted "
        "35 mm-equivalent) or --gsd-cm"
    )


def photo_scale(meta: PhotoMeta, altitude_m: float | None = None) -> PhotoScale:
    """The GSD at the centre of a photo (the geometric mean of its two axes) taken from
    ``altitude_m`` above the water (else the height the drone wrote: DJI's RelativeAltitude, above
    its take-off point) with its camera tilted as the gimbal pitch says. ``PhotoScaleUnknown`` when
    the photo does not say enough, or is too oblique for one scale to stand for the frame.
    """
    if altitude_m is not None:
        if not (math.isfinite(altitude_m) and altitude_m > 0):
            raise PhotoScaleUnknown(f"altitude {altitude_m} m: must be above the water (> 0)")
        altitude, altitude_from = altitude_m, "given"
    elif meta.relative_altitude_m is not None:
        altitude, altitude_from = meta.relative_altitude_m, meta.height_tag
        if not (math.isfinite(altitude) and altitude >= MIN_ALTITUDE_M):
            raise PhotoScaleUnknown(
                f"{meta.height_tag} {altitude:g} m: not flown above the take-off point; "
                "give --altitude-m (height above the water) or --gsd-cm"
            )
    else:
        raise PhotoScaleUnknown(
            f"no height ({meta.height_tag}): give --altitude-m (height above the water) or --gsd-cm"
        )
    focal, focal_from = focal_length_px(meta)
    off_nadir = None
    if meta.gimbal_pitch_deg is not None and math.isfinite(meta.gimbal_pitch_deg):
        off_nadir = abs(90.0 + meta.gimbal_pitch_deg)  # pitch -90 is straight down
        if off_nadir > MAX_OFF_NADIR_DEG:
            raise PhotoScaleUnknown(
                f"camera {off_nadir:.0f} deg off straight down (gimbal pitch {meta.gimbal_pitch_deg:g}): "
                f"the ground scale changes across the frame (> {MAX_OFF_NADIR_DEG:g} deg); give --gsd-cm "
                "for the part that matters"
            )
    # the centre's two axes: across the tilt slant / f, along it foreshortened by another cos;
    # their geometric mean, as edge.geolocate.ground_sample_distance gives the agent in flight
    cos = math.cos(math.radians(off_nadir or 0.0))
    return PhotoScale(altitude / (focal * cos**1.5), altitude, focal, altitude_from, focal_from, off_nadir)


def photo_pose(meta: PhotoMeta, altitude_m: float | None = None):
    """Where the camera was and how it looked when the photo was taken, for geolocating what is in
    it: ``(contract.camera.CameraPose, CameraModel)`` with a stabilized gimbal at the recorded pitch
    and heading (an ideal lens of the recorded focal length). ``PhotoScaleUnknown`` when the photo
    has no position (EXIF GPS) or no heading (XMP GimbalYawDegree / FlightYawDegree)."""
    from contract.camera import CameraModel, CameraPose

    scale = photo_scale(meta, altitude_m)
    if meta.lat is None or meta.lon is None:
        raise PhotoScaleUnknown("no position (EXIF GPS)")
    if meta.heading_deg is None:
        raise PhotoScaleUnknown("no camera heading (XMP GimbalYawDegree or FlightYawDegree)")
    if meta.orientation != 1:
        raise PhotoScaleUnknown(
            f"shown turned or mirrored (EXIF Orientation {meta.orientation}): heading not mapped"
        )
    w, h, f = meta.width_px, meta.height_px, scale.focal_px
    camera = CameraModel(width=w, height=h, fx=f, fy=f, cx=(w - 1) / 2, cy=(h - 1) / 2, name=meta.camera)
    pitch = meta.gimbal_pitch_deg if meta.gimbal_pitch_deg is not None else -90.0
    pose = CameraPose(
        lat=meta.lat, lon=meta.lon, alt_m=scale.altitude_m, yaw_deg=meta.heading_deg, gimbal_pitch_deg=pitch
    )
    return pose, camera


# --- adapter: the file -------------------------------------------------------------------------

_EXIF_IFD = 0x8769
_TAG_MAKE, _TAG_MODEL, _TAG_ORIENTATION = 0x010F, 0x0110, 0x0112
_TAG_FOCAL, _TAG_FOCAL_35 = 0x920A, 0xA405
_TAG_PLANE_X_RES, _TAG_PLANE_UNIT = 0xA20E, 0xA210
_TAG_PIXEL_X, _TAG_PIXEL_Y = 0xA002, 0xA003
_GPS_IFD = 0x8825


def xmp_number(xmp: str, name: str) -> float | None:
    """A number in an XMP packet, written as an attribute (``drone-dji:Name="+30.2"``) or an element
    (``<drone-dji:Name>+30.2</drone-dji:Name>``), under any namespace prefix."""
    pattern = rf'[\w.-]+:{name}\s*=\s*"([^"]*)"|<([\w.-]+):{name}>([^<]*)</\2:{name}>'
    match = re.search(pattern, xmp)
    if not match:
        return None
    text = (match.group(1) if match.group(1) is not None else match.group(3)).strip()
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _number(value) -> float | None:
    """An EXIF rational or integer as a float; None for a missing, zero-denominator or odd value."""
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _gps_degrees(gps, ref_tag: int, value_tag: int, negative: str) -> float | None:
    """An EXIF GPS coordinate (degrees, minutes, seconds and a N/S or E/W reference) in degrees."""
    try:
        d, m, sec = (float(x) for x in gps[value_tag])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + sec / 3600
    if not math.isfinite(value):
        return None
    ref = gps.get(ref_tag, "")
    ref = ref.decode("ascii", "replace") if isinstance(ref, bytes) else str(ref)
    return -value if ref.strip("\x00 ").upper() == negative else value


def _xmp_text(image, path: Path) -> str:
    """The photo's XMP packet (Pillow's, else searched for in the head of the file); '' if none."""
    raw = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if not raw:
        with path.open("rb") as fh:
            head = fh.read(_XMP_SCAN_BYTES)
        start, end = head.find(b"<x:xmpmeta"), head.find(b"</x:xmpmeta>")
        raw = head[start:end] if 0 <= start < end else b""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def read_photo_meta(path: Path | str) -> PhotoMeta | None:
    """What ``path`` says of its camera and height, without decoding its pixels; None when it is
    not an image Pillow can open (the detector reports a bad frame on its own)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            width, height = image.size
            orientation = exif.get(_TAG_ORIENTATION) or 1
            if orientation in (5, 6, 7, 8):
                width, height = height, width  # turned upright on reading, as OpenCV does
            unit_mm = _UNIT_MM.get(int(sub.get(_TAG_PLANE_UNIT) or 2))
            plane_res = _number(sub.get(_TAG_PLANE_X_RES))
            gps = exif.get_ifd(_GPS_IFD)
            xmp = _xmp_text(image, path)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None
    pixel_x, pixel_y = _number(sub.get(_TAG_PIXEL_X)), _number(sub.get(_TAG_PIXEL_Y))
    return PhotoMeta(
        width_px=width,
        height_px=height,
        focal_35mm_mm=_number(sub.get(_TAG_FOCAL_35)),
        focal_mm=_number(sub.get(_TAG_FOCAL)),
        focal_plane_px_per_mm=plane_res / unit_mm if plane_res and unit_mm else None,
        calibrated_focal_px=xmp_number(xmp, "CalibratedFocalLength"),
        original_width_px=int(pixel_x) if pixel_x else None,
        original_height_px=int(pixel_y) if pixel_y else None,
        relative_altitude_m=xmp_number(xmp, "RelativeAltitude"),
        gimbal_pitch_deg=xmp_number(xmp, "GimbalPitchDegree"),
        camera=" ".join(str(exif.get(t) or "").strip("\x00 ") for t in (_TAG_MAKE, _TAG_MODEL)).strip(),
        lat=_gps_degrees(gps, 1, 2, "S"),
        lon=_gps_degrees(gps, 3, 4, "W"),
        heading_deg=_first_number(xmp, ("GimbalYawDegree", "FlightYawDegree")),
        orientation=int(orientation) if str(orientation).isdigit() else 1,
    )


def _first_number(xmp: str, names: tuple[str, ...]) -> float | None:
    for name in names:
        value = xmp_number(xmp, name)
        if value is not None:
            return value
    return None


def with_lens(meta: PhotoMeta, lens_35mm_mm: float | None) -> PhotoMeta:
    """``meta`` with the operator's 35 mm-equivalent focal length in place of the recorded lens."""
    if not lens_35mm_mm:
        return meta
    return replace(meta, focal_35mm_mm=lens_35mm_mm, calibrated_focal_px=None, focal_tag="given")


@dataclass(frozen=True)
class PhotoReading:
    """What one photo file gives: the GSD to run it at (None: as it comes), a line saying where it
    came from or why there is none, and its ``photo_pose`` when it says where it was taken and
    which way it looked (else None)."""

    gsd_m: float | None
    note: str
    pose: tuple | None = None


def read_photo(
    path: Path | str, altitude_m: float | None = None, lens_35mm_mm: float | None = None
) -> PhotoReading:
    """The photo at ``path``, its metadata read once for both its scale and its pose.
    ``altitude_m`` / ``lens_35mm_mm`` stand in for what the photo records (or does not)."""
    meta = read_photo_meta(path)
    if meta is None:
        return PhotoReading(None, "no photo metadata readable")
    meta = with_lens(meta, lens_35mm_mm)
    try:
        scale = photo_scale(meta, altitude_m)
    except PhotoScaleUnknown as exc:
        return PhotoReading(None, f"ground scale unknown: {exc}")
    try:
        pose = photo_pose(meta, altitude_m)
    except PhotoScaleUnknown:  # no position or heading: the scale alone
        pose = None
    return PhotoReading(scale.gsd_m, scale.describe(), pose)


def image_gsd(
    path: Path | str, altitude_m: float | None = None, lens_35mm_mm: float | None = None
) -> tuple[float | None, str]:
    """``read_photo``'s GSD and its line: what a dataset's images need."""
    reading = read_photo(path, altitude_m, lens_35mm_mm)
    return reading.gsd_m, reading.note


def frame_gsd(
    path: Path | str, given_m: float | None, photo_scale: bool = True, altitude_m: float | None = None
) -> float | None:
    """The GSD to run one image of a dataset at: ``given_m`` for all, else (``photo_scale``) its
    own photo's, else None (as it comes)."""
    if given_m:
        return given_m
    return image_gsd(path, altitude_m)[0] if photo_scale else None
