"""Back up and restore the cloud's state in one archive, while the server runs.

What a restored server needs to carry on as if nothing happened: the database (finds, photos,
work orders, tokens) and its ``data_dir`` (the Web Push key that every phone's subscription is
bound to, those subscriptions, the reminders already sent, the CIM connectors' outboxes).

A SQLite file is copied with SQLite's online backup API (a consistent snapshot while the server
writes); PostgreSQL with ``pg_dump``. ``MANIFEST.json`` lists every file with its SHA-256, so a
restore refuses a damaged archive before it touches anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloud.server_lock import LOCK_NAME
from contract.files import write_atomic

#: What every backup archive is called: ``riverpatrol-cloud-20261206-231500.tar.gz``.
PREFIX = "riverpatrol-cloud-"
SUFFIX = ".tar.gz"
MANIFEST = "MANIFEST.json"
FORMAT = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: Files beside a live SQLite database that a snapshot already holds (or that mean nothing alone),
#: and the running server's lock (its pid).
_SKIP_SUFFIXES = ("-wal", "-shm", "-journal", ".tmp", LOCK_NAME)


class BackupError(RuntimeError):
    """A backup or restore that cannot be done, with what to do about it."""


@dataclass(frozen=True)
class Source:
    """Where the state lives: ``sqlite_path`` or ``pg_url`` (one of them), and ``data_dir``."""

    data_dir: Path
    sqlite_path: Path | None = None
    pg_url: str | None = None

    @classmethod
    def from_url(cls, db_url: str, data_dir: Path) -> Source:
        if db_url.startswith("sqlite:///"):
            return cls(Path(data_dir), sqlite_path=Path(db_url.removeprefix("sqlite:///")))
        if db_url.startswith(("postgresql://", "postgres://")):
            return cls(Path(data_dir), pg_url=db_url)
        raise BackupError(f"cannot back up a database at {db_url!r}: neither sqlite:/// nor postgresql://")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(16) == _SQLITE_MAGIC


def _snapshot_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite database (its WAL included) by the online backup API."""
    s = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    d = sqlite3.connect(dst)
    try:
        s.backup(d)
    finally:
        d.close()
        s.close()


def _pg_tool(tool: str, *args: str) -> None:
    """Run ``pg_dump`` or ``pg_restore``; a ``BackupError`` says it is missing or why it failed."""
    exe = shutil.which(tool)
    if exe is None:
        raise BackupError(
            f"{tool} is not installed: apt-get install postgresql-client (the server's version)"
        )
    r = subprocess.run([exe, *args], capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise BackupError(f"{tool} failed ({r.returncode}): {r.stderr.strip()}")


def _data_files(data_dir: Path, skip: set[Path]) -> Iterator[Path]:
    if not data_dir.is_dir():
        return
    for p in sorted(data_dir.rglob("*")):
        if p.is_file() and not p.name.endswith(_SKIP_SUFFIXES) and p.resolve() not in skip:
            yield p


def _counts(src: Source) -> dict[str, Any]:
    """Schema and row counts of the snapshot, for the manifest and the restore's report."""
    from cloud.storage import open_store
    from cloud.storage.base import ItemQuery

    url = f"sqlite:///{src.sqlite_path}" if src.sqlite_path else str(src.pg_url)
    store = open_store(url, pool_size=1)
    try:
        return {
            "schema_version": store.schema_version(),
            "finds": store.query_items(ItemQuery(limit=1))[1],
            "alerts": store.count_events(),
            "work_orders": store.list_workorders(limit=1)[1],
            "tokens": len(store.list_tokens()),
            "flights": len(store.list_flights(with_track=False)),
        }
    finally:
        store.close()


def make_backup(src: Source, dest_dir: Path, now: float | None = None) -> tuple[Path, dict[str, Any]]:
    """Write ``dest_dir/riverpatrol-cloud-<UTC time>.tar.gz``; returns its path and manifest."""
    now = time.time() if now is None else now
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d-%H%M%S")
    out = dest_dir / f"{PREFIX}{stamp}{SUFFIX}"
    with tempfile.TemporaryDirectory(prefix="rp-backup-") as tmp:
        stage = Path(tmp)
        files: dict[str, Path] = {}
        live = {src.sqlite_path.resolve()} if src.sqlite_path else set()
        if src.sqlite_path:
            if not src.sqlite_path.is_file():
                raise BackupError(f"no database at {src.sqlite_path}: wrong --db or --config?")
            files["database/cloud.db"] = stage / "cloud.db"
            _snapshot_sqlite(src.sqlite_path, files["database/cloud.db"])
            counts = _counts(Source(stage, sqlite_path=files["database/cloud.db"]))
        else:
            counts = _counts(src)  # before the dump: the dump holds at least these
            files["database/cloud.pgdump"] = stage / "cloud.pgdump"
            _pg_tool(
                "pg_dump", "--format=custom", "--no-owner", "--file", str(files["database/cloud.pgdump"]),
                "--dbname", str(src.pg_url),
            )  # fmt: skip
        for p in _data_files(src.data_dir, live):
            rel = p.relative_to(src.data_dir).as_posix()
            copy = stage / "data" / rel
            copy.parent.mkdir(parents=True, exist_ok=True)
            if _is_sqlite(p):
                _snapshot_sqlite(p, copy)
            else:
                shutil.copyfile(p, copy)
            files[f"data_dir/{rel}"] = copy
        manifest = {
            "format": FORMAT,
            "created_at": datetime.fromtimestamp(now, UTC).isoformat(),
            "host": socket.gethostname(),
            "database": "sqlite" if src.sqlite_path else "postgresql",
            **counts,
            "files": {name: {"sha256": _sha256(p), "bytes": p.stat().st_size} for name, p in files.items()},
        }
        partial = out.with_name(out.name + ".partial")
        # it holds the Web Push private key and the token hashes: readable by its owner alone
        with _private_file(partial) as f, tarfile.open(fileobj=f, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(now)
            tar.addfile(info, io.BytesIO(data))
            for name, p in files.items():
                tar.add(p, arcname=name, recursive=False)
        os.replace(partial, out)  # a backup is whole or not there
    return out, manifest


@contextlib.contextmanager
def _private_file(path: Path) -> Iterator[Any]:
    """``path`` opened for writing with mode 0600, fsynced on close."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


def prune(dest_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups in ``dest_dir`` (only files this module names)."""
    found = sorted(p for p in Path(dest_dir).glob(f"{PREFIX}*{SUFFIX}") if p.is_file())
    gone = found[:-keep] if keep > 0 else []
    for p in gone:
        p.unlink()
    return gone


def read_archive(archive: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every listed file's bytes, each checked against its SHA-256."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            if MANIFEST not in members:
                raise BackupError(f"{archive}: no {MANIFEST}: not a RiverPatrol cloud backup")
            manifest = json.loads(tar.extractfile(members[MANIFEST]).read())  # type: ignore[union-attr]
            if manifest.get("format") != FORMAT:
                raise BackupError(
                    f"{archive}: backup format {manifest.get('format')!r}, this version reads {FORMAT}"
                )
            blobs = {}
            for name, meta in manifest["files"].items():
                if name not in members:
                    raise BackupError(f"{archive}: {name} is listed but missing: the archive is damaged")
                data = tar.extractfile(members[name]).read()  # type: ignore[union-attr]
                if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                    raise BackupError(f"{archive}: {name} does not match its SHA-256: the archive is damaged")
                blobs[name] = data
    except (tarfile.TarError, EOFError, OSError, ValueError, KeyError) as exc:
        raise BackupError(f"{archive}: not a readable backup ({type(exc).__name__}: {exc})") from None
    return manifest, blobs


def _pg_is_empty(url: str) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    return not row or row[0] == 0


def restore_backup(
    archive: Path, dst: Source, force: bool = False, schema_max: int | None = None
) -> dict[str, Any]:
    """Put an archive's database and data_dir back. Refuses to write over a database or files that
    are there, unless ``force`` (then each file it replaces is kept beside it as ``.before-restore``).
    Run it with the server stopped. Returns the restored database's counts."""
    manifest, blobs = read_archive(archive)
    if schema_max is not None and manifest.get("schema_version", 0) > schema_max:
        raise BackupError(
            f"{archive}: schema {manifest['schema_version']} was made by a newer RiverPatrol (this one"
            f" knows up to {schema_max}): restore it with that version"
        )
    kind = manifest["database"]
    if (kind == "sqlite") != (dst.sqlite_path is not None):
        have = "SQLite" if dst.sqlite_path else "PostgreSQL"
        raise BackupError(f"{archive} holds a {kind} database but this server is set up for {have}: set --db")
    targets = {
        name: dst.data_dir / name.removeprefix("data_dir/") for name in blobs if name.startswith("data_dir/")
    }
    if dst.sqlite_path:
        targets["database/cloud.db"] = dst.sqlite_path
    there = [str(p) for p in targets.values() if p.exists()]
    if dst.pg_url and not _pg_is_empty(dst.pg_url):
        there.append(f"the tables of {dst.pg_url.rsplit('@', 1)[-1]}")
    if there and not force:
        listing = ", ".join(there[:5]) + (" ..." if len(there) > 5 else "")
        raise BackupError(
            f"would write over {listing}: stop the server and add --force (the old files are kept)"
        )
    for name, path in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            os.replace(path, path.with_name(path.name + ".before-restore"))
            for side in _SKIP_SUFFIXES[:3]:  # a stale WAL must not be replayed onto the restored file
                with contextlib.suppress(FileNotFoundError):
                    os.replace(Path(f"{path}{side}"), Path(f"{path}{side}.before-restore"))
        write_atomic(path, blobs[name], private=True)
    if dst.pg_url:
        with tempfile.NamedTemporaryFile(suffix=".pgdump") as f:
            f.write(blobs["database/cloud.pgdump"])
            f.flush()
            _pg_tool(
                "pg_restore", "--no-owner", "--clean", "--if-exists", "--single-transaction",
                "--dbname", dst.pg_url, f.name,
            )  # fmt: skip
    return _counts(dst)
