"""``riverpatrol gcs``: operator commands (fleet status, patrol planning, missions, relay)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """Ground-station tools for drone operators: fleet status, patrol plans, missions, relay."""
