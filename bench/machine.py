"""What every benchmark records about the machine it ran on, so figures can be compared."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any


def machine_info(**extra: Any) -> dict[str, Any]:
    """Platform, CPU model, visible cores, Python and the versions of the given packages."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu_model": cpu,
        "cpus_visible": os.cpu_count(),
        "python": sys.version.split()[0],
        **extra,
    }


def versions(*packages: str) -> dict[str, str]:
    out = {}
    for p in packages:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out
