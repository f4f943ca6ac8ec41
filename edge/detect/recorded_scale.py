"""The ground scale a drone recorded for each frame ``riverpatrol edge detect`` is given: a photo's
EXIF/XMP (``photo_scale``), a video's ``.SRT`` telemetry track beside it (``video_telemetry``), or
the operator's ``--gsd-cm`` for all. One object so the command asks one question per frame."""

from __future__ import annotations

from pathlib import Path

from edge.detect.photo_scale import PhotoScaleUnknown, read_photo
from edge.detect.video_telemetry import TelemetryError, frame_scale, load_track, sidecar_srt, telemetry_at


class RecordedScales:
    """``of_photo`` / ``of_video_frame``: the GSD (metres per pixel; None: as it comes) to run a frame
    at, and a line saying where it came from ('' when nothing was asked); a photo's pose too."""

    def __init__(
        self,
        given_m: float | None = None,
        metadata: bool = True,
        altitude_m: float | None = None,
        model_gsd_m: float | None = None,
        lens_35mm_mm: float | None = None,
    ) -> None:
        self.given_m, self.metadata, self.altitude_m = given_m, metadata, altitude_m
        self.lens_35mm_mm = lens_35mm_mm
        self.model_gsd_m = model_gsd_m
        self._tracks: dict[Path, list | TelemetryError | None] = {}

    def _fixed(self) -> tuple[float | None, str] | None:
        if self.given_m:
            return self.given_m, f"{self.given_m * 100:g} cm/px (given)"
        if not self.metadata:
            return None, ""
        if self.model_gsd_m is None:
            return None, "the model has no trained ground scale (gsd_m): run as it comes"
        return None

    def of_photo(self, path: Path) -> tuple[float | None, str, tuple | None]:
        """An image file's GSD (given, else its EXIF/XMP's), where it came from, and its pose
        (``(CameraPose, CameraModel)``, to geolocate what is in it; None with the metadata off or
        when the photo lacks position, heading or height), from one read of the file."""
        fixed = self._fixed()
        if not self.metadata:
            return (*fixed, None)
        reading = read_photo(path, self.altitude_m, self.lens_35mm_mm)
        gsd, note = fixed if fixed is not None else (reading.gsd_m, reading.note)
        return gsd, note, reading.pose

    def track(self, video: Path) -> list | TelemetryError | None:
        """The video's telemetry track (read once), the error that made it unreadable, or None
        when there is no ``.SRT`` beside it."""
        if video not in self._tracks:
            srt = sidecar_srt(video)
            try:
                self._tracks[video] = load_track(srt) if srt else None
            except TelemetryError as exc:
                self._tracks[video] = exc
        return self._tracks[video]

    def of_video_frame(self, video: Path, t_s: float, width: int, height: int) -> tuple[float | None, str]:
        """The GSD of the frame ``t_s`` seconds into ``video``: given, else from its ``.SRT``."""
        fixed = self._fixed()
        if fixed is not None:
            return fixed
        track = self.track(video)
        if isinstance(track, TelemetryError):
            return None, f"ground scale unknown: {track}"
        if track is None and self.altitude_m is None:
            srt = video.with_suffix(".SRT").name
            return (
                None,
                f"ground scale unknown: no telemetry track ({srt}) beside it; "
                "give --altitude-m and --lens-mm",
            )
        try:  # without a track, the operator's height and lens hold for every frame
            tel = telemetry_at(track, t_s) if track else None
            scale = frame_scale(tel, width, height, self.altitude_m, self.lens_35mm_mm)
        except PhotoScaleUnknown as exc:
            return None, f"ground scale unknown at {t_s:.2f} s: {exc}"
        return scale.gsd_m, scale.describe()
