"""WGS84 <-> GCJ-02 <-> BD-09: the coordinate systems Chinese city maps are drawn in.

Drones report WGS84, but AMap/Tencent (GCJ-02) and Baidu (BD-09) base maps are offset by
hundreds of metres; a CIM layer or an inspector's map app must get points in their system or
debris lands on the wrong bank. GCJ-02 is a published-by-reverse-engineering obfuscation with
no closed-form inverse, so :func:`gcj02_to_wgs84` iterates to sub-millimetre. Outside mainland
China's bounding box, GCJ-02 is defined as WGS84 (the common convention of map SDKs).

All functions take and return ``(lon, lat)`` in degrees, the GeoJSON axis order.
"""

from __future__ import annotations

import math

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

#: Bounding box (lon_min, lat_min, lon_max, lat_max) inside which GCJ-02 shifts points.
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)

_MAX_ITER = 30
_TOL_DEG = 1e-10  # ~0.01 mm


def in_china(lon: float, lat: float) -> bool:
    """Whether GCJ-02 applies at (lon, lat) — the conventional rectangular test."""
    lon_min, lat_min, lon_max, lat_max = CHINA_BBOX
    return lon_min <= lon <= lon_max and lat_min <= lat <= lat_max


def _delta_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _delta_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: float, lat: float) -> tuple[float, float]:
    """(dlon, dlat) in degrees that GCJ-02 adds to a WGS84 point."""
    dlat = _delta_lat(lon - 105.0, lat - 35.0)
    dlon = _delta_lon(lon - 105.0, lat - 35.0)
    rad = math.radians(lat)
    magic = 1 - _KRASOVSKY_EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 (AMap, Tencent) position of a WGS84 point."""
    if not in_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _invert(forward, lon: float, lat: float) -> tuple[float, float]:
    """Point p with forward(p) == (lon, lat), by fixed-point iteration (the shift is smooth)."""
    x, y = lon, lat
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if abs(ex) < _TOL_DEG and abs(ey) < _TOL_DEG:
            break
    return x, y


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 position of a GCJ-02 point (iterative inverse, error far below a metre)."""
    if not in_china(lon, lat):
        return lon, lat
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 (Baidu) position of a GCJ-02 point."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def _bd09_to_gcj02_approx(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 position of a BD-09 point (Baidu's closed-form estimate, refined iteratively)."""
    x, y = _bd09_to_gcj02_approx(lon, lat)
    for _ in range(_MAX_ITER):
        fx, fy = gcj02_to_bd09(x, y)
        ex, ey = fx - lon, fy - lat
        if abs(ex) < _TOL_DEG and abs(ey) < _TOL_DEG:
            break
        x, y = x - ex, y - ey
    return x, y


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 (Baidu) position of a WGS84 point."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 position of a BD-09 point."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


#: Name accepted in ``?crs=`` and config -> converter from WGS84 ``(lon, lat)``.
FROM_WGS84 = {
    "wgs84": lambda lon, lat: (lon, lat),
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def from_wgs84(crs: str, lon: float, lat: float) -> tuple[float, float]:
    """(lon, lat) in ``crs`` (``wgs84``, ``gcj02`` or ``bd09``, case-insensitive)."""
    try:
        conv = FROM_WGS84[crs.lower()]
    except KeyError:
        raise ValueError(f"unknown crs {crs!r}: expected one of {sorted(FROM_WGS84)}") from None
    return conv(lon, lat)
