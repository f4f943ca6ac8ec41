"""``riverpatrol cloud``: run the city-side service, manage its API tokens, report on its work orders."""

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
#: A server already runs on the data_dir (``serve``, ``restore``).
EXIT_RUNNING = 5

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
    _refuse_if_running(settings.data_dir)
    try:
        application = create_app(settings)
    except StoreUnavailable as e:
        raise _no_database(e) from None
    uvicorn.run(
        application, host=settings.host, port=settings.port, log_config=None, access_log=False, lifespan="on"
    )


def _refuse_if_running(data_dir: Path) -> None:
    """Exit ``EXIT_RUNNING`` naming the server that already runs on ``data_dir`` (``cloud.server_lock``)."""
    from cloud.server_lock import running_server

    who = running_server(data_dir)
    if who is not None:
        typer.secho(
            f"error: a cloud server is running on data_dir {data_dir} ({who}): stop it first",
            fg="red", err=True,
        )  # fmt: skip
        raise typer.Exit(EXIT_RUNNING)


#: Characters of a token's SHA-256 that ``token list`` shows as its id (never the token itself).
TOKEN_ID_CHARS = 12
#: The fewest characters of an id that ``token revoke`` accepts.
TOKEN_ID_MIN = 8
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON line per token instead of a table.")]
IdArg = Annotated[str | None, typer.Argument(help="A token's id from `token list` (8 or more characters).")]


def _open(config: Path | None, db: str | None, must_exist: bool = False):
    """Settings and the store; ``must_exist`` (a command that only reads): a SQLite file that is not
    there is an error, not a new empty database read as "nothing happened"."""
    from cloud.settings import CloudSettings
    from cloud.storage import StoreUnavailable, open_store

    settings = CloudSettings.load(config, db_url=db)
    url = settings.resolved_db_url()
    if must_exist and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise _no_database(
            ValueError(f"no database at {url.removeprefix('sqlite:///')}: wrong --db or --config?")
        )
    try:
        return settings, open_store(url, pool_size=1)
    except StoreUnavailable as e:
        raise _no_database(e) from None


def _config_tokens(settings) -> list[dict]:
    """Tokens set in the config file, as the server reads them, in rows like the database's (they
    cannot be revoked there)."""
    from cloud.api.auth import configured_tokens

    tokens = configured_tokens(settings.station_tokens, settings.inspector_tokens)
    return [
        {"token_hash": h, "role": p.role, "principal": p.name, "created_at": None} for h, p in tokens.items()
    ]


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

    if (station is None) == (inspector is None):
        raise typer.BadParameter("give exactly one of --station or --inspector")
    role, name = ("station", station) if station else ("inspector", inspector)
    if not name or not name.strip():
        raise typer.BadParameter(f"--{role} must be a non-empty id")
    _settings, store = _open(config, db)
    try:
        token = new_token()
        store.add_token(hash_token(token), role, name, time.time())
    finally:
        store.close()
    typer.echo(token)
    token_id = hash_token(token)[:TOKEN_ID_CHARS]
    typer.echo(
        f"created {role} token for {name!r} (id {token_id}, for `token revoke`); it is shown only now",
        err=True,
    )


@token_app.command("list")
def token_list(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Who can post alerts or act on work orders: each token's id, role, holder and age, never the token."""
    import json
    import time
    from datetime import UTC, datetime

    from rich.table import Table

    from contract.terminal import console

    settings, store = _open(config, db)
    try:
        rows = [{**r, "source": "database"} for r in store.list_tokens()]
    finally:
        store.close()
    rows += [{**r, "source": "config"} for r in _config_tokens(settings)]
    if as_json:
        for r in rows:
            out = {"id": r["token_hash"][:TOKEN_ID_CHARS], "role": r["role"], "holder": r["principal"],
                   "source": r["source"], "created_at": r["created_at"]}  # fmt: skip
            typer.echo(json.dumps(out))
        return
    now = time.time()
    t = Table(title=f"{len(rows)} token(s)", title_justify="left")
    for col in ("id", "role", "holder", "created (UTC)", "source"):
        t.add_column(col, no_wrap=col in ("id", "created (UTC)"))
    for r in rows:
        created = "-"
        if r["created_at"] is not None:
            when = datetime.fromtimestamp(r["created_at"], UTC).strftime("%Y-%m-%d %H:%M")
            created = f"{when} ({(now - r['created_at']) / 86400:.0f} d ago)"
        t.add_row(r["token_hash"][:TOKEN_ID_CHARS], r["role"], r["principal"], created, r["source"])
    console().print(t)


@token_app.command("revoke")
def token_revoke(
    token_id: IdArg = None,
    station: Annotated[str | None, typer.Option(help="Revoke every token of this ground station.")] = None,
    inspector: Annotated[str | None, typer.Option(help="Revoke every token of this inspector.")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Revoke tokens at once (a lost phone, a leaked station token, an inspector who left).

    The next request with a revoked token gets 401. Tokens set in the config file are not in the
    database: remove them there and restart.
    """
    if sum(x is not None for x in (token_id, station, inspector)) != 1:
        raise typer.BadParameter("give exactly one of ID, --station or --inspector")
    if token_id is not None:
        token_id = token_id.strip().lower()
        if len(token_id) < TOKEN_ID_MIN or any(c not in "0123456789abcdef" for c in token_id):
            raise typer.BadParameter(
                f"{token_id!r} is not a token id: give 8 or more hex characters from `token list`"
            )

    def matches(r: dict) -> bool:
        if token_id is not None:
            return r["token_hash"].startswith(token_id)
        role, name = ("station", station) if station is not None else ("inspector", inspector)
        return r["role"] == role and r["principal"] == name

    what = (
        f"id {token_id}"
        if token_id is not None
        else (f"station {station!r}" if station is not None else f"inspector {inspector!r}")
    )
    settings, store = _open(config, db)
    try:
        match = [r for r in store.list_tokens() if matches(r)]
        if len(match) > 1 and token_id is not None:
            typer.secho(f"error: {what} matches {len(match)} tokens: give more of it", fg="red", err=True)
            raise typer.Exit(2)
        n = store.revoke_tokens([r["token_hash"] for r in match])
    finally:
        store.close()
    if n == 0:
        in_config = any(matches(r) for r in _config_tokens(settings))
        hint = " (it is set in the config file: remove it there and restart)" if in_config else ""
        typer.secho(f"error: no token in the database for {what}{hint}", fg="red", err=True)
        raise typer.Exit(3)
    holders = ", ".join(sorted({f"{r['role']} {r['principal']!r}" for r in match}))
    typer.echo(f"revoked {n} token(s) of {holders}; requests with them now get 401")


@app.command("report")
def report(
    since: Annotated[
        str | None, typer.Option(help="From this day (2026-11-01, local time) or time (RFC 3339).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="To the end of this day, or to this time.")] = None,
    days: Annotated[int | None, typer.Option(min=1, help="The last N days (instead of --since).")] = None,
    orders_csv: Annotated[
        Path | None,
        typer.Option(
            "--orders-csv",
            help=(
                "Also write the period's work orders, a row each, to this CSV file"
                " (- for stdout, instead of the tables)."
            ),
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="The figures as JSON (as GET /api/v1/stats).")
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """The period's figures for the river office: finds, how soon they were claimed and cleared, per
    stretch and per inspector, and what the false alarms were.

    Finds are counted in the period they were found; times are in `[cloud.notify] timezone`. Reads
    the database directly (the server may be running): `riverpatrol cloud report --days 30
    --orders-csv orders.csv` for a month's review and its spreadsheet.
    """
    import json
    import sys
    import time

    from cloud.app import build_segment_index
    from cloud.report import PeriodError, local, parse_bound, tables, write_orders_csv
    from cloud.stats import compute_stats, in_period
    from contract.terminal import console

    if days is not None and since is not None:
        raise typer.BadParameter("give --since or --days, not both")
    settings, store = _open(config, db, must_exist=True)
    tz = settings.notify.timezone
    try:
        t0 = time.time() - days * 86400 if days else parse_bound(since, tz, "--since") if since else None
        t1 = parse_bound(until, tz, "--until", end=True) if until else None
    except PeriodError as e:
        store.close()
        raise typer.BadParameter(str(e)) from None
    try:
        orders, events, flights = (
            store.all_workorders(),
            store.all_workorder_events(),
            store.list_flights(with_track=False),
        )
    finally:
        store.close()
    index = build_segment_index(settings)
    names = {seg.id: settings.segment_name(seg.id, seg.name) for seg in index.segments}
    lengths = {s.id: (s.river, s.length_m) for s in index.segments}
    stats = compute_stats(orders, lengths, t0, t1, events, flights)
    if orders_csv is not None:
        chosen = in_period(orders, t0, t1)
        if str(orders_csv) == "-":
            write_orders_csv(sys.stdout, chosen, names, tz, settings.public_url)
            return
        with open(orders_csv, "w", newline="", encoding="utf-8-sig") as f:
            n = write_orders_csv(f, chosen, names, tz, settings.public_url)
        typer.echo(f"wrote {n} work order(s) to {orders_csv}", err=True)
    if as_json:
        typer.echo(json.dumps(stats, ensure_ascii=False))
        return
    out = console()
    span = f"{local(t0, tz) if t0 else 'the first'} to {local(t1, tz) if t1 else 'now'} ({tz})"
    out.print(f"[bold]Patrol report[/]: finds and flights from {span}")
    for t in tables(stats, names, tz, [c.id for c in settings.segments if c.inspectors]):
        out.print(t)


@app.command("photos")
def photos(
    days: Annotated[
        float | None,
        typer.Option(
            min=0.0, help="Judge at this retention instead of photo_retention_days (a policy you weigh)."
        ),
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """What photo retention would drop now: the pictures of finds whose orders closed longer ago
    than `photo_retention_days` (or `--days`), how much space, and how many finds.

    Nothing is dropped (the running server does that hourly, and tells the CIM and the phones):
    weigh a retention before setting it. Reads the database directly; the server may be running.
    """
    import time

    from cloud.retention import DAY_S

    settings, store = _open(config, db, must_exist=True)
    keep = settings.photo_retention_days if days is None else days
    try:
        if keep <= 0:
            typer.echo("photo retention is off (photo_retention_days = 0): every picture is kept")
            return
        n, size, finds = store.expire_photos(time.time() - keep * DAY_S, dry_run=True)
    finally:
        store.close()
    typer.echo(
        f"at {keep:g} days after a find's order closed, retention would drop {n} picture(s),"
        f" {size / 1e6:.1f} MB, of {len(finds)} find(s) now (nothing dropped: a dry run)"
    )


#: Exit status when a backup or restore cannot be done (the message says why and what to do).
EXIT_BACKUP = 4


@app.command("backup")
def backup(
    dest: Annotated[Path, typer.Argument(help="Folder the archive is written to.")],
    keep: Annotated[
        int,
        typer.Option(min=0, help="Keep this many newest backups in the folder, delete older ones (0: all)."),
    ] = 0,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Back up the database and `data_dir` into one archive, while the server runs.

    Writes `DEST/riverpatrol-cloud-<UTC time>.tar.gz`: a consistent snapshot of SQLite (or a
    `pg_dump` of PostgreSQL), the Web Push key the phones' subscriptions are bound to, the
    subscriptions, and the CIM connectors' outboxes, with the SHA-256 of each. It holds secrets:
    the file is readable by its owner alone. `deploy/systemd` runs it nightly.
    """
    from cloud.backup import BackupError, Source, make_backup, prune
    from cloud.settings import CloudSettings

    settings = CloudSettings.load(config, db_url=db)
    try:
        out, manifest = make_backup(Source.from_url(settings.resolved_db_url(), settings.data_dir), dest)
    except BackupError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(EXIT_BACKUP) from None
    size = out.stat().st_size
    typer.echo(
        f"backed up {manifest['database']} (schema {manifest['schema_version']}: {manifest['finds']} finds,"
        f" {manifest['work_orders']} work orders, {manifest['tokens']} tokens) and"
        f" {sum(n.startswith('data_dir/') for n in manifest['files'])} data_dir file(s) to {out}"
        f" ({size / 1e6:.1f} MB)"
    )
    for gone in prune(dest, keep):
        typer.echo(f"deleted the older backup {gone}")


@app.command("restore")
def restore(
    archive: Annotated[Path, typer.Argument(help="A riverpatrol-cloud-*.tar.gz from `cloud backup`.")],
    force: Annotated[
        bool,
        typer.Option(help="Write over a database and files that are there (each kept as .before-restore)."),
    ] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Put a backup back: the database and `data_dir` the server is set up with. Stop the server first.

    Every file is checked against the archive's SHA-256 before anything is written; a database or
    files already there are written over only with `--force`. PostgreSQL is restored with
    `pg_restore` into the `--db` database.
    """
    from cloud.backup import BackupError, Source, restore_backup
    from cloud.settings import CloudSettings
    from cloud.storage.sql import MIGRATIONS

    settings = CloudSettings.load(config, db_url=db)
    _refuse_if_running(settings.data_dir)
    try:
        dst = Source.from_url(settings.resolved_db_url(), settings.data_dir)
        counts = restore_backup(archive, dst, force=force, schema_max=MIGRATIONS[-1][0])
    except BackupError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(EXIT_BACKUP) from None
    typer.echo(
        f"restored {archive} (schema {counts['schema_version']}: {counts['finds']} finds,"
        f" {counts['work_orders']} work orders, {counts['tokens']} tokens); start the server"
    )


@app.command("config")
def config_cmd(config: ConfigOpt = None) -> None:
    """Print the settings the cloud service runs with, as the `[cloud]` table of a config file.

    Every setting is under its description; unset ones are commented out and secrets are not
    shown. With no file and no `RIVERPATROL_CLOUD_*` variables these are the defaults: a file to
    start from (`riverpatrol cloud config > cloud.toml`).
    """
    from cloud.settings import CloudSettings
    from contract.settings import to_toml

    typer.echo(to_toml(CloudSettings.load(config)), nl=False)
