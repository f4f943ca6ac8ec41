"""``riverpatrol edge``: the agent on the drone's companion computer."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """The drone's companion-computer agent: telemetry, detection, alerts over MQTT."""
