"""``riverpatrol sim``: simulators testers fly, one command (or sub-app) per simulator."""

from __future__ import annotations

from pathlib import Path

import typer

from sim.camera.cli import app as camera_app
from sim.vehicle.cli import vehicle

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """Simulators: a MAVLink multicopter (ArduPilot Copter SITL on the wire) and an aerial camera."""


app.command("vehicle")(vehicle)
app.add_typer(camera_app, name="camera", help="Synthetic aerial camera over a river, with exact truth.")


@app.command("config")
def config_cmd(
    config: Path = typer.Option(None, help="TOML config file (its \\[sim.vehicle] table)."),
) -> None:
    """Print the settings the simulators runs with, as the `[sim]` table of a config file.

    Every setting is under its description; unset ones are commented out and secrets are not
    shown. With no file and no `RIVERPATROL_SIM_*` variables these are the defaults: a file to
    start from (`riverpatrol sim config > sim.toml`).
    """
    from contract.settings import to_toml
    from sim.settings import SimSettings

    typer.echo(to_toml(SimSettings.load(config)), nl=False)
