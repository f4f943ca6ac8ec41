"""Cloud test fixtures: real uvicorn servers on fresh ports, real SQLite files and PostgreSQL DBs."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from cloud.app import create_app
from cloud.settings import CloudSettings
from cloud.storage import open_store
from tests.cloud.factory import INSPECTOR_TOKENS, STATION_TOKEN, Server
from tests.conftest import free_port

PG_ADMIN = os.environ.get("RIVERPATROL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def fresh_pg() -> Iterator[Callable[[], str]]:
    """Factory of fresh PostgreSQL databases for one test, all dropped afterwards."""
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as e:
        pytest.fail(f"PostgreSQL at {PG_ADMIN} is not reachable: {e}")
    names: list[str] = []

    def make() -> str:
        name = f"rp_{secrets.token_hex(6)}"
        admin.execute(f"CREATE DATABASE {name}")
        names.append(name)
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"

    try:
        yield make
    finally:
        for name in names:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture
def pg_url(fresh_pg: Callable[[], str]) -> str:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    return fresh_pg()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs against SQLite and a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Any]:
    s = open_store(db_url, pool_size=4)
    yield s
    s.close()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Factory: ``make_server(db_url=None, before_start=None, **settings)`` -> a started server."""
    started: list[Server] = []

    def make(
        db_url: str | None = None, before_start: Callable[[Any], None] | None = None, **overrides: Any
    ) -> Server:
        settings = CloudSettings(
            data_dir=overrides.pop("data_dir", tmp_path / "data"),
            db_url=db_url or "",
            station_tokens={"gs1": STATION_TOKEN},
            inspector_tokens=INSPECTOR_TOKENS,
            **overrides,
        )
        app = create_app(settings)
        if before_start is not None:
            before_start(app)
        srv = Server(app, free_port())
        srv.__enter__()
        started.append(srv)
        return srv

    yield make
    for s in started:
        s.__exit__()
