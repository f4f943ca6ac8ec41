"""``riverpatrol cloud``: run the city-side service and manage its API tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)
token_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Bearer tokens for stations/inspectors."
)
app.add_typer(token_app, name="token")

#: Exit status when the database cannot be opened or reached (the message says which and why).
EXIT_NO_DATABASE = 3

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML file with a \\[cloud] table.")]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="sqlite:///path or postgresql://... (overrides config).")
]


def _no_database(e: Exception) -> typer.Exit:
    typer.secho(f"error: {e}", fg="red", err=True)
    return typer.Exit(EXIT_NO_DATABASE)


@app.callback()
def _root() -> None:
    """The city-side service: alert ingest, CIM debris layer, inspectors' page, work orders."""


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    db: DbOpt = None,
) -> None:
    """Run the HTTP service (uvicorn) until interrupted."""
    import uvicorn

    from cloud.app import create_app
    from cloud.settings import CloudSettings
    from cloud.storage import StoreUnavailable
    from contract.logs import configure_logging

    settings = CloudSettings.load(config, host=host, port=port, db_url=db)
    configure_logging(settings.log_level)
    try:
        application = create_app(settings)
    except StoreUnavailable as e:
        raise _no_database(e) from None
    uvicorn.run(
        application, host=settings.host, port=settings.port, log_config=None, access_log=False, lifespan="on"
    )


@token_app.command("create")
def token_create(
    station: Annotated[str | None, typer.Option(help="Ground-station id the token is for.")] = None,
    inspector: Annotated[str | None, typer.Option(help="Inspector id the token is for.")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Create a bearer token, store only its SHA-256 in the DB and print the token once."""
    import time

    from cloud.api.auth import hash_token, new_token
    from cloud.settings import CloudSettings
    from cloud.storage import StoreUnavailable, open_store

    if (station is None) == (inspector is None):
        raise typer.BadParameter("give exactly one of --station or --inspector")
    role, name = ("station", station) if station else ("inspector", inspector)
    if not name or not name.strip():
        raise typer.BadParameter(f"--{role} must be a non-empty id")
    settings = CloudSettings.load(config, db_url=db)
    try:
        store = open_store(settings.resolved_db_url(), pool_size=1)
    except StoreUnavailable as e:
        raise _no_database(e) from None
    try:
        token = new_token()
        store.add_token(hash_token(token), role, name, time.time())
    finally:
        store.close()
    typer.echo(token)
    typer.echo(f"created {role} token for {name!r}; it is shown only now", err=True)
