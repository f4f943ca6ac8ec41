"""``riverpatrol`` — one command, a sub-command per component.

Each component's CLI module imports its heavy dependencies inside its commands, so
``riverpatrol --help`` stays fast on a companion computer.
"""

from __future__ import annotations

import typer

from cloud.cli import app as cloud_app
from edge.cli import app as edge_app
from ground_station.cli import app as gcs_app
from sim.cli import app as sim_app

app = typer.Typer(
    help="RiverPatrol: drones patrol rivers, AI on board finds floating debris, inspectors get it.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(sim_app, name="sim", help="Simulators testers fly: MAVLink vehicle (SITL), aerial camera.")
app.add_typer(edge_app, name="edge", help="The agent on the drone's companion computer.")
app.add_typer(gcs_app, name="gcs", help="Ground-station tools for drone operators.")
app.add_typer(cloud_app, name="cloud", help="The city-side service: ingest, CIM layer, inspectors.")


def main() -> None:
    app()
