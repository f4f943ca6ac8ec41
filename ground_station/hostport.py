"""``--broker host:port`` parsing shared by the gcs commands."""

from __future__ import annotations

import typer


def parse_hostport(text: str | None, option: str = "--broker") -> tuple[str | None, int | None]:
    """(host, port) of ``host:port`` (host defaults to 127.0.0.1); (None, None) when not given."""
    if not text:
        return None, None
    host, _, port = text.rpartition(":")
    try:
        return (host or "127.0.0.1"), int(port)
    except ValueError as e:
        raise typer.BadParameter(f"{option}: expected host:port, got {text!r}") from e
