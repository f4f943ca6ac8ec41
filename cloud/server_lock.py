"""One cloud server per ``data_dir``.

Two servers on one ``data_dir`` would each run the follow-up rounds and the CIM connectors: every
reminder, escalation and overdue patrol paged twice, every change sent to the CIM twice, and each
rewriting the other's record of what it sent. The server holds an ``flock`` on
``data_dir/server.lock`` while it runs; a second one is refused by name (the first's pid, host and
start time), and ``cloud restore`` refuses to write under a running server. The kernel drops the
lock when its holder dies, ``kill -9`` included, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOCK_NAME = "server.lock"


class ServerLocked(RuntimeError):
    """Another cloud server holds this ``data_dir``."""


def _holder_text(f: IO[str]) -> str:
    f.seek(0)
    return f.read().strip() or "another process"


@contextlib.contextmanager
def hold(data_dir: Path) -> Iterator[Path]:
    """Hold ``data_dir``'s server lock for the ``with`` block; ``ServerLocked`` says who has it."""
    path = Path(data_dir) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServerLocked(
                f"another cloud server is running on data_dir {data_dir} ({_holder_text(f)}): stop it,"
                " or give this one a data_dir of its own"
            ) from None
        f.truncate(0)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        f.write(f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n")
        f.flush()
        try:
            yield path
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def running_server(data_dir: Path) -> str | None:
    """Who holds ``data_dir``'s server lock now (``pid N on HOST, started T``), or None."""
    path = Path(data_dir) / LOCK_NAME
    if not path.is_file():
        return None
    with path.open("r") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_text(f)
        fcntl.flock(f, fcntl.LOCK_UN)
    return None
