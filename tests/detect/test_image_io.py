"""A JPEG cut short is refused with a message, wherever it is cut; a whole one, trailer or not, is read."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.detect.errors import FrameError
from edge.detect.image_io import decode_image, jpeg_truncated, read_image


def _picture(w: int = 160, h: int = 120) -> np.ndarray:
    rng = np.random.default_rng(3)
    return cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (5, 5), 0)


def _jpeg(*params: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", _picture(), [cv2.IMWRITE_JPEG_QUALITY, 90, *params])
    assert ok
    return buf.tobytes()


BASELINE = _jpeg()
PROGRESSIVE = _jpeg(cv2.IMWRITE_JPEG_PROGRESSIVE, 1)
RESTARTS = _jpeg(cv2.IMWRITE_JPEG_RST_INTERVAL, 2)  # RSTn markers inside the entropy-coded data


def _with_thumbnail(jpeg: bytes) -> bytes:
    """``jpeg`` with a whole small JPEG (its own SOI..EOI) in an APP1 segment, as EXIF thumbnails are."""
    ok, thumb = cv2.imencode(".jpg", _picture(32, 24))
    assert ok
    body = b"Exif\x00\x00" + thumb.tobytes()
    return jpeg[:2] + b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body + jpeg[2:]


@pytest.mark.parametrize("name", ["baseline", "progressive", "restarts", "thumbnail"])
def test_every_cut_of_a_jpeg_is_caught_and_the_whole_one_is_not(name):
    data = {
        "baseline": BASELINE,
        "progressive": PROGRESSIVE,
        "restarts": RESTARTS,
        "thumbnail": _with_thumbnail(BASELINE),
    }[name]
    assert not jpeg_truncated(data)
    missed = [k for k in range(3, len(data) - 1) if not jpeg_truncated(data[:k])]
    assert missed == []


def test_bytes_after_the_end_of_image_are_not_a_cut():
    """A motion photo's video or a maker's trailer follows EOI; zero padding too."""
    assert not jpeg_truncated(BASELINE + b"\x00" * 64)
    assert not jpeg_truncated(BASELINE + b"ftypmp42" + bytes(range(256)) * 4)
    assert not jpeg_truncated(PROGRESSIVE + b"trailer")


def test_a_cut_just_past_a_thumbnails_end_of_image_is_still_a_cut():
    """The thumbnail's FFD9 lies inside a segment the walk skips by its length."""
    whole = _with_thumbnail(BASELINE)
    thumb_end = whole.index(b"\xff\xd9") + 2
    assert jpeg_truncated(whole[:thumb_end])
    assert jpeg_truncated(whole[: thumb_end + 20])


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=3, max_value=len(PROGRESSIVE) - 2), tail=st.binary(max_size=16))
def test_a_cut_jpeg_stays_cut_whatever_noise_follows_it(cut, tail):
    """Garbage after a cut (a half-written file's stale bytes) does not make it whole, unless the
    garbage itself ends the image."""
    data = PROGRESSIVE[:cut] + tail
    if b"\xff\xd9" not in tail and not (PROGRESSIVE[cut - 1] == 0xFF and tail[:1] == b"\xd9"):
        assert jpeg_truncated(data)


def test_what_is_not_a_jpeg_is_left_to_the_decoder():
    assert not jpeg_truncated(b"")
    assert not jpeg_truncated(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(FrameError, match=r"x\.png: not an image OpenCV can decode \(48 bytes\)"):
        decode_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "x.png")


def test_read_image_refuses_a_cut_file_by_name_and_reads_a_whole_one(tmp_path):
    whole = tmp_path / "whole.jpg"
    whole.write_bytes(BASELINE + b"trailer")
    np.testing.assert_array_equal(read_image(whole), cv2.imread(str(whole)))

    cut = tmp_path / "cut.jpg"
    cut.write_bytes(BASELINE[: len(BASELINE) * 2 // 3])
    assert cv2.imread(str(cut)) is not None  # what OpenCV alone does: grey rows, no error
    with pytest.raises(FrameError, match=r"cut\.jpg: the JPEG is truncated \([\d,]+ bytes, no end-of-image"):
        read_image(cut)

    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(FrameError, match=r"empty\.jpg: not an image \(0 bytes\)"):
        read_image(tmp_path / "empty.jpg")
    with pytest.raises(FrameError, match=r": not a file"):
        read_image(tmp_path)
