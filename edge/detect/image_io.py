"""Reading pictures from bytes and files so that a damaged one is refused, not half-scored.

OpenCV's ``imread`` decodes a JPEG that was cut short (a copy stopped half-way, a card pulled
out, a feed dropped mid-frame) without an error: libjpeg prints "Premature end of JPEG file" on
stderr and fills the missing rows with grey (``imdecode`` of the same bytes may return None
instead, which reads as "not an image"). A detector run on such a frame silently covers part of
it, so the callers here check the JPEG's structure first and refuse the frame with a message
that says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.detect.errors import FrameError

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 carry no length


def jpeg_truncated(data: bytes) -> bool:
    """True when ``data`` is a JPEG whose marker structure ends before its end-of-image marker.

    Walks the segments from SOI (skipping each by its length, so an EXIF thumbnail's own EOI is
    not taken for the image's) and the entropy-coded data after each SOS, up to EOI. Bytes after
    EOI (a motion photo's video, a maker's trailer) are allowed; data that is not a JPEG at all is
    not this function's to judge (False: the decoder will refuse it).
    """
    if len(data) < 3 or data[0] != 0xFF or data[1] != _SOI:
        return False
    pos, n = 2, len(data)
    while pos < n:
        if data[pos] != 0xFF:  # garbage between segments: libjpeg skips it, so do we
            pos = data.find(b"\xff", pos)
            if pos < 0:
                return True
        while pos < n and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= n:
            return True
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            return False
        if marker in _STANDALONE or marker == 0x00:
            continue
        if pos + 2 > n:
            return True
        pos += int.from_bytes(data[pos : pos + 2], "big")  # the length counts its own two bytes
        if pos > n:
            return True
        if marker == _SOS:  # entropy-coded data: runs to the next marker that is not FF00 or RSTn
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    return True
                following = data[pos + 1]
                if following != 0x00 and following != 0xFF and not 0xD0 <= following <= 0xD7:
                    break
                pos += 1 if following == 0xFF else 2
    return True


def decode_image(data: bytes, where: str) -> np.ndarray:
    """The BGR image in ``data`` (any format OpenCV reads), or ``FrameError`` naming ``where``:
    empty, undecodable, or a JPEG cut short."""
    import cv2

    if not data:
        raise FrameError(f"{where}: not an image (0 bytes)")
    if jpeg_truncated(data):
        raise FrameError(
            f"{where}: the JPEG is truncated ({len(data):,} bytes, no end-of-image marker); "
            "its lower rows would be grey, so it is not scored"
        )
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise FrameError(f"{where}: not an image OpenCV can decode ({len(data):,} bytes)")
    return image


def read_image(path: Path) -> np.ndarray:
    """The BGR image of the picture file at ``path``, or ``FrameError`` saying what is wrong with it."""
    if not path.is_file():
        raise FrameError(f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FrameError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return decode_image(data, str(path))
