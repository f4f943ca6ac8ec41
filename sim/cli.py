"""``riverpatrol sim``: simulators testers fly, one command (or sub-app) per simulator."""

from __future__ import annotations

import typer

from sim.camera.cli import app as camera_app
from sim.vehicle.cli import vehicle

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """Simulators: a MAVLink multicopter (ArduPilot Copter SITL on the wire) and an aerial camera."""


app.command("vehicle")(vehicle)
app.add_typer(camera_app, name="camera", help="Synthetic aerial camera over a river, with exact truth.")
