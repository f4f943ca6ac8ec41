"""Typed errors of the detector: callers catch one family and get a message saying what and where."""

from __future__ import annotations


class DetectorError(Exception):
    """Base of every error the detector raises on bad input; never a bare crash."""


class ModelLoadError(DetectorError):
    """The model file is missing, is not ONNX, or is not a detector this runtime can decode."""


class FrameError(DetectorError, ValueError):
    """A frame is empty, corrupt, or not an HxWx3 uint8 BGR image."""
