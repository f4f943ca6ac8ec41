"""Writing a state file whole or not at all, for every component that keeps one on disk."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, private: bool = False) -> None:
    """Write ``data`` to ``path`` through ``path.tmp``, fsynced, then renamed over ``path``: a
    crash or a power cut leaves the old file or the new one, never half of one. ``private``: the
    file is created readable by its owner alone (keys, tokens); else as the umask allows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
