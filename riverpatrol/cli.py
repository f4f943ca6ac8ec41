"""``riverpatrol`` — one command, a sub-command per component.

Each component's CLI module imports its heavy dependencies inside its commands, so
``riverpatrol --help`` stays fast on a companion computer.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cloud.cli import app as cloud_app
from contract.settings import SettingsError
from edge.cli import app as edge_app
from ground_station.cli import app as gcs_app
from models.cli import app as model_app
from sim.cli import app as sim_app


def _flags_take_no_value() -> None:
    """typer labels every on/off flag ``<bool>`` in ``--help`` (``--no-fence <bool>``), which
    reads as if it took a value; a flag shows no type here. Left alone if typer changes."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None:
        return

    def display_type_rich(self: TyperOption, ctx: typer.Context) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()

app = typer.Typer(
    help="RiverPatrol: drones patrol rivers, AI on board finds floating debris, inspectors get it.",
    no_args_is_help=True,
    add_completion=False,
    # Markdown joins a docstring's wrapped lines into paragraphs that fit the terminal (rich
    # mode keeps each source line break, so help came out ragged under 100 columns).
    rich_markup_mode="markdown",
)
app.add_typer(sim_app, name="sim", help="Simulators testers fly: MAVLink vehicle (SITL), aerial camera.")
app.add_typer(edge_app, name="edge", help="The agent on the drone's companion computer.")
app.add_typer(gcs_app, name="gcs", help="Ground-station tools for drone operators.")
app.add_typer(cloud_app, name="cloud", help="The city-side service: ingest, CIM layer, inspectors.")
app.add_typer(model_app, name="model", help="The detector on your own labelled imagery: score, fine-tune.")


@app.command()
def demo(
    segment: str = typer.Option("shenzhen-4", help="Bundled river segment to patrol (see contract/rivers)."),
    speedup: float = typer.Option(
        2.0, help="Simulated seconds per wall second (every frame is detected: keep it low on 2 cores)."
    ),
    alt: float = typer.Option(30.0, help="Patrol altitude above home, m."),
    fps: float = typer.Option(4.0, help="Camera frames per simulated second (as many as the CPU renders)."),
    seed: int = typer.Option(7, help="Seed of the simulated river and its debris."),
    feed: str = typer.Option("1920x1080", help="Camera feed WxH (960x540 renders 2x faster, finds less)."),
    debris: int = typer.Option(40, min=0, help="Debris items on the patrolled segment."),
    port: int = typer.Option(
        5760, min=0, max=65535, help="TCP port of the simulator's MAVLink server (0 = any free port)."
    ),
    cloud_port: int = typer.Option(
        8080, min=0, max=65535, help="Port of the cloud service (0 or taken = any free port)."
    ),
    broker: str = typer.Option("", help="MQTT broker host:port (default: start an embedded one)."),
    workdir: Path | None = typer.Option(None, help="Keep databases, outboxes and logs here (default: temp)."),
    duration: float = typer.Option(0.0, min=0, help="Stop after this many wall seconds (0 = until landed)."),
    link_outage: str = typer.Option(
        "",
        help="START:END wall seconds of the patrol with the drone's radio link to the broker cut "
        "(its alerts wait in its outbox, and all arrive after).",
    ),
    frame_loss: float = typer.Option(0.0, help="Camera frames lost before they reach the drone's agent, %."),
    frame_corrupt: float = typer.Option(0.0, help="Camera frames sent with their JPEG cut short, %."),
    camera_blackout: str = typer.Option(
        "", help="START:END wall seconds of the patrol with the camera off (the agent reconnects after)."
    ),
    serve: bool | None = typer.Option(
        None, "--serve/--no-serve", help="Keep the cloud up after landing (default: when run in a terminal)."
    ),
) -> None:
    """Fly a river patrol in the simulator through the whole data path: drone, broker, ground relay, cloud.

    The edge agent detects debris in every camera frame, geolocates and tracks each find and
    publishes one alert per item over MQTT; the ground station relays them to the cloud, where
    the inspectors' page and the CIM layer (OGC API - Features) show them. At the end the finds
    are scored against the simulator's ground truth.
    """
    from riverpatrol.demo import DemoOptions, run_demo

    for value, hint in ((speedup, "--speedup"), (fps, "--fps"), (alt, "--alt")):
        if not value > 0:  # nan too
            raise typer.BadParameter(f"must be more than 0, not {value:g}", param_hint=hint)
    try:
        feed_size = tuple(int(v) for v in feed.lower().split("x"))
        assert len(feed_size) == 2 and min(feed_size) >= 64
    except (ValueError, AssertionError):
        raise typer.BadParameter(f"give the feed size as WxH, e.g. 1920x1080, not {feed!r}") from None
    from pydantic import ValidationError

    from sim.camera.faults import CameraFaults
    from sim.settings import Window  # START:END, as the simulator's own fault windows are spelt

    def checked(model, value, hint: str, example: str):
        try:
            return model.model_validate(value)
        except ValidationError as e:
            msg = e.errors()[0]["msg"].removeprefix("Value error, ")
            raise typer.BadParameter(f"{msg} ({example})", param_hint=hint) from None

    patrol_s = "seconds of the patrol, e.g. 60:90"
    outage = checked(Window, link_outage, "--link-outage", patrol_s) if link_outage else None
    blackout = checked(Window, camera_blackout, "--camera-blackout", patrol_s) if camera_blackout else None
    checked(
        CameraFaults, {"drop_pct": frame_loss, "corrupt_pct": frame_corrupt}, "--frame-loss/--frame-corrupt",
        "percentages of the frames, 0-100",
    )  # fmt: skip

    raise typer.Exit(
        run_demo(
            DemoOptions(
                segment=segment, speedup=speedup, feed_size=feed_size, alt_m=alt, fps=fps,
                seed=seed, debris=debris,
                tcp_port=port, cloud_port=cloud_port, broker=broker, workdir=workdir,
                duration_s=duration, serve=serve, link_outage=outage, camera_blackout=blackout,
                frame_loss_pct=frame_loss, frame_corrupt_pct=frame_corrupt,
            )
        )
    )  # fmt: skip


def main() -> None:
    """Run the command; settings that cannot be used end it with their message, not a traceback."""
    try:
        app()
    except SettingsError as e:
        typer.secho(f"error: settings: {e}", fg="red", err=True)
        raise SystemExit(2) from None
