"""``riverpatrol cloud``: run the city-side service."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """The city-side service: alert ingest, CIM debris layer, inspectors' page, work orders."""
