"""Log lines every component writes the same way: one JSON object per line, fields included.

Why here: a log shipper (journald, Loki, Elastic) reads the drone's agent, the ground station,
the simulator and the cloud with one parser, and a message with quotes, a newline or a
traceback still makes exactly one valid line. Fields come from ``extra=``, flat
(``extra={"station": "gs1"}``) or as one dict (``extra={"fields": {...}}``); both land as keys of
the line. At a terminal people get ``msg key=value`` text instead (:class:`KeyValueFormatter`).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Literal, TextIO

LogFormat = Literal["auto", "json", "text"]

#: Attributes every LogRecord has; anything else on a record came from ``extra=``. (uvicorn adds
#: ``color_message``, its message again with terminal colour codes.)
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_BASE_KEYS = ("ts", "level", "logger", "msg")


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller attached with ``extra=``: flat keys, then the ``fields`` dict."""
    out = {k: v for k, v in record.__dict__.items() if k not in _RECORD_ATTRS and k != "fields"}
    out.update(getattr(record, "fields", None) or {})
    return out


class JsonLineFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", <fields>..., "exc"}`` on one line, always valid JSON.

    ``ts`` is ISO 8601 UTC with milliseconds. A field named like a base key is kept under
    ``field_<name>`` rather than overwrite it.
    """

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in record_fields(record).items():
            out[f"field_{k}" if k in _BASE_KEYS else k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        import time

        t = time.gmtime(record.created)
        return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(record.msecs):03d}Z"


class KeyValueFormatter(logging.Formatter):
    """``msg key=value ...`` for people; with ``stamp`` also time and level (rich adds its own)."""

    def __init__(self, stamp: bool = False) -> None:
        super().__init__()
        self.stamp = stamp

    def format(self, record: logging.LogRecord) -> str:
        kv = " ".join(f"{k}={v}" for k, v in record_fields(record).items())
        text = f"{record.getMessage()} {kv}".rstrip()
        if self.stamp:
            when = self.formatTime(record, "%H:%M:%S")
            text = f"{when} {record.levelname.lower():<7} {record.name}: {text}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is when a line is logged, not as it was when configured (a
    test runner, a CLI runner or a daemoniser may swap it; a handler holding the old one would
    write into a closed stream)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr


def configure_logging(
    level: str | int = "INFO",
    *,
    path: Path | None = None,
    stream: TextIO | None = None,
    fmt: LogFormat = "json",
    logger: str = "",
) -> logging.Handler:
    """Send ``logger``'s lines (the root by default) to one file or stream (default: stderr).

    It replaces the handler an earlier call installed and leaves others alone (a test runner's
    capture). ``fmt="auto"`` writes text at a terminal and JSON lines otherwise (a service
    manager, a pipe, a file). Returns the handler, e.g. to close a file.
    """
    if path is not None:
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
        tty = False
    else:
        handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
        out = stream or sys.stderr
        tty = bool(getattr(out, "isatty", lambda: False)())
    text = fmt == "text" or (fmt == "auto" and tty)
    handler.setFormatter(KeyValueFormatter(stamp=True) if text else JsonLineFormatter())
    handler._riverpatrol = True  # type: ignore[attr-defined]  # ours: the next call replaces it
    target = logging.getLogger(logger)
    for old in target.handlers[:]:
        if getattr(old, "_riverpatrol", False):
            target.removeHandler(old)
            old.close()
    target.addHandler(handler)
    target.setLevel(level.upper() if isinstance(level, str) else level)
    return handler
