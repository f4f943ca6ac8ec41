"""Every command's rich console: at a terminal as it is, in a log or a pipe whole tables.

Rich cuts a table to 80 columns when the output is not a terminal, so a relay's journal, a
``riverpatrol ... | tee`` or cron mail would show ids, coordinates and times cut short.
"""

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
