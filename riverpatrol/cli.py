"""``riverpatrol`` — one command, a sub-command per component.

Each component's CLI module imports its heavy dependencies inside its commands, so
``riverpatrol --help`` stays fast on a companion computer.
"""

from __future__ import annotations

import typer

from cloud.cli import app as cloud_app
from edge.cli import app as edge_app
from ground_station.cli import app as gcs_app
from models.cli import app as model_app
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
app.add_typer(model_app, name="model", help="The detector on your own labelled imagery: score, fine-tune.")


@app.command()
def demo(
    segment: str = typer.Option("shenzhen-4", help="Bundled river segment to patrol (see contract/rivers)."),
    speedup: float = typer.Option(20.0, help="Simulated seconds per wall second."),
    alt: float = typer.Option(30.0, help="Patrol altitude above home, m."),
    port: int = typer.Option(5760, help="TCP port of the simulator's MAVLink server (0 = any free port)."),
    duration: float = typer.Option(0.0, help="Stop after this many wall seconds (0 = until landed)."),
) -> None:
    """Fly a whole river patrol in the simulator and watch the edge agent's live telemetry."""
    from riverpatrol.demo import DemoOptions, run_demo

    raise typer.Exit(
        run_demo(DemoOptions(segment=segment, speedup=speedup, alt_m=alt, tcp_port=port, duration_s=duration))
    )


def main() -> None:
    app()
