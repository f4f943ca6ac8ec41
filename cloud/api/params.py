"""Pure parsing of query parameters shared by the OGC and REST read endpoints."""

from __future__ import annotations

from datetime import UTC, datetime


class ParamError(ValueError):
    """A query parameter is malformed (HTTP 400); the message names it."""


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` (a 6-number 3D bbox drops its heights)."""
    if text is None or text == "":
        return None
    try:
        nums = [float(x) for x in text.split(",")]
    except ValueError:
        raise ParamError(f"bbox: {text!r} is not comma-separated numbers") from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4:
        raise ParamError(f"bbox: expected 4 (or 6) numbers, got {len(nums)}")
    x0, y0, x1, y1 = nums
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise ParamError(f"bbox: {text!r} is outside WGS84 lon/lat ranges")
    if y0 > y1 or x0 > x1:
        raise ParamError(f"bbox: {text!r} has min greater than max (antimeridian boxes are not supported)")
    return x0, y0, x1, y1


def parse_instant(text: str, name: str = "datetime") -> float:
    """Epoch seconds of an RFC 3339 time (``Z`` or offset; naive means UTC)."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ParamError(f"{name}: {text!r} is not an RFC 3339 date-time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_period(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    """(since, until) epoch seconds of two optional RFC 3339 query parameters of those names."""
    return (
        parse_instant(since, "since") if since else None,
        parse_instant(until, "until") if until else None,
    )


def parse_datetime(text: str | None) -> tuple[float | None, float | None]:
    """(start, end) of an OGC ``datetime``: instant, ``a/b``, ``../b``, ``a/..`` (or empty ends)."""
    if text is None or text == "":
        return None, None
    if "/" not in text:
        t = parse_instant(text)
        return t, t
    a, _, b = text.partition("/")
    start = None if a in ("", "..") else parse_instant(a)
    end = None if b in ("", "..") else parse_instant(b)
    if start is None and end is None:
        raise ParamError("datetime: an interval needs at least one closed end")
    if start is not None and end is not None and start > end:
        raise ParamError(f"datetime: start {a!r} is after end {b!r}")
    return start, end


def parse_list(text: str | None, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    """Comma-separated values, each one of ``allowed``."""
    if not text:
        return ()
    vals = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in vals if v not in allowed]
    if bad:
        raise ParamError(f"{name}: {', '.join(map(repr, bad))} not one of {', '.join(allowed)}")
    return vals
