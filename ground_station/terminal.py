"""The operators' console: rich at a terminal, whole tables in a log or a pipe."""

from __future__ import annotations

from typing import Any

from rich.console import Console

#: Columns a table may use when the output is not a terminal (rich would cut it to 80).
LOG_WIDTH = 160


def console(**kwargs: Any) -> Console:
    """A rich console; off a terminal (a log, a pipe, cron mail) tables print whole, not cut at 80."""
    c = Console(**kwargs)
    if not c.is_terminal:
        c.width = LOG_WIDTH
    return c
