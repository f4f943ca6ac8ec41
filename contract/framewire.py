"""Frames over TCP: the simulated camera's feed to the edge agent (``sim://host:port``).

Why a format of our own: the edge must geotag every frame with the pose the vehicle had when it
was captured. Video protocols carry wall-clock stamps; this one carries the vehicle's own clock
(``time_boot_s``, MAVLink ``time_boot_ms`` / 1000), so ``pose_at`` is exact at any simulator
speedup. Ground truth is never sent here (the simulator writes it to a JSONL file instead).

One record on the wire::

    MAGIC (4 bytes, b"RPF1") | header length (uint32 BE) | payload length (uint32 BE)
    | header (UTF-8 JSON, a ``FrameHeader``) | payload (JPEG, or raw BGR bytes)

The parser (:class:`FrameParser`) is pure (bytes in, records or rejections out) so a bad record
never ends the stream: a bad header or payload skips that record; an oversized one is skipped by
its declared length; a lost magic is found again by scanning forward.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAGIC = b"RPF1"
_PREFIX = struct.Struct(">4sII")
PREFIX_SIZE = _PREFIX.size
MAX_HEADER_BYTES = 4096
#: A 4K raw BGR frame is ~25 MB; anything larger is a broken or hostile sender.
MAX_PAYLOAD_BYTES = 32 * 1024 * 1024

Encoding = Literal["jpeg", "bgr"]


class FrameHeader(BaseModel):
    """What the edge needs to know about one frame, besides its pixels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0, description="Frame counter of the sender, +1 per frame.")
    time_boot_s: float = Field(ge=0, description="Capture time on the vehicle's clock (s since boot).")
    utc: float | None = Field(None, description="Capture time, Unix seconds (the vehicle's UTC).")
    width: int = Field(gt=0, le=16384)
    height: int = Field(gt=0, le=16384)
    encoding: Encoding = "jpeg"


def encode_record(header: FrameHeader, payload: bytes) -> bytes:
    """One wire record for ``header`` and ``payload``."""
    head = header.model_dump_json().encode()
    return _PREFIX.pack(MAGIC, len(head), len(payload)) + head + payload


@dataclass(frozen=True, slots=True)
class FrameRecord:
    header: FrameHeader
    payload: bytes


@dataclass(frozen=True, slots=True)
class FrameReject:
    """A record (or some bytes) that was skipped, and why; ``reason`` is a short metric label."""

    reason: str
    detail: str


class FrameParser:
    """Incremental parser: ``feed`` bytes, get complete records and rejections, in stream order."""

    def __init__(self, max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> None:
        self.max_payload_bytes = max_payload_bytes
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversized payload still to drop
        self._in_garbage = False

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[FrameRecord | FrameReject]:
        self._buf += data
        out: list[FrameRecord | FrameReject] = []
        while True:
            if self._skip:
                n = min(self._skip, len(self._buf))
                del self._buf[:n]
                self._skip -= n
                if self._skip:
                    return out
            if len(self._buf) < PREFIX_SIZE:
                return out
            magic, hlen, plen = _PREFIX.unpack_from(self._buf)
            if magic != MAGIC:
                at = self._buf.find(MAGIC, 1)
                dropped = at if at > 0 else max(len(self._buf) - (len(MAGIC) - 1), 1)
                del self._buf[:dropped]
                if not self._in_garbage:  # one rejection per run of garbage, however it is chunked
                    out.append(FrameReject("bad_magic", f"bytes without the {MAGIC!r} magic skipped"))
                self._in_garbage = True
                continue
            self._in_garbage = False
            if hlen == 0 or hlen > MAX_HEADER_BYTES:
                del self._buf[:PREFIX_SIZE]
                out.append(FrameReject("bad_header", f"header length {hlen} not in 1..{MAX_HEADER_BYTES}"))
                continue
            if plen > self.max_payload_bytes:
                if len(self._buf) < PREFIX_SIZE + hlen:
                    return out
                del self._buf[: PREFIX_SIZE + hlen]
                self._skip = plen
                out.append(
                    FrameReject("oversized", f"payload of {plen} bytes over max {self.max_payload_bytes}")
                )
                continue
            total = PREFIX_SIZE + hlen + plen
            if len(self._buf) < total:
                return out
            head = bytes(self._buf[PREFIX_SIZE : PREFIX_SIZE + hlen])
            payload = bytes(self._buf[PREFIX_SIZE + hlen : total])
            del self._buf[:total]
            try:
                header = FrameHeader.model_validate(json.loads(head))
            except (ValueError, ValidationError) as e:
                detail = str(e).splitlines()[0] if str(e) else type(e).__name__
                out.append(FrameReject("bad_header", f"header is not a valid FrameHeader: {detail}"))
                continue
            if plen == 0:
                out.append(FrameReject("empty", f"frame {header.seq} has an empty payload"))
                continue
            out.append(FrameRecord(header, payload))
