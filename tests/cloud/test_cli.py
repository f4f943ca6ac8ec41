"""``riverpatrol cloud serve`` as a real process: health, metrics, structured logs, ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from cloud.settings import CloudSettings
from cloud.storage.sql import MIGRATIONS
from contract.settings import SettingsError
from tests.cloud.factory import spread
from tests.conftest import free_port, wait_port


def test_serve_runs_uvicorn_with_health_metrics_and_json_logs(tmp_path) -> None:
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    env = {**os.environ, "RIVERPATROL_CLOUD_STATION_TOKENS": json.dumps({"gs1": "tok"})}
    env.pop("RIVERPATROL_CONFIG", None)
    cmd = [
        sys.executable,
        "-c",
        "from riverpatrol.cli import main; main()",
        "cloud",
        "serve",
        "--db",
        f"sqlite:///{tmp_path / 'c.db'}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, cwd=tmp_path)  # its data_dir: ./var/cloud
    try:
        wait_port(port, timeout=20)
        base = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{base}/healthz").json()
        assert health["status"] == "ok" and health["db"] == "sqlite"
        assert health["schema_version"] == MIGRATIONS[-1][0]
        r = httpx.post(f"{base}/api/v1/alerts", json=spread(2), headers={"Authorization": "Bearer tok"})
        assert r.json()["accepted"] == 2
        metrics = httpx.get(f"{base}/metrics").text
        assert "riverpatrol_cloud_alerts_ingested_total 2.0" in metrics
        assert "riverpatrol_cloud_ingest_seconds_bucket" in metrics
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()
    lines = [json.loads(x) for x in (tmp_path / "server.log").read_text().splitlines() if x.startswith("{")]
    assert any(x["msg"] == "alerts ingested" and x["accepted"] == 2 for x in lines)
    assert any(x["msg"] == "cloud service started" for x in lines)


def _cloud(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVERPATROL_")}
    cmd = [sys.executable, "-c", "from riverpatrol.cli import main; main()", "cloud", *args]
    return subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_a_database_that_cannot_be_reached_or_named_ends_with_one_line_not_a_traceback(tmp_path) -> None:
    closed = free_port()  # nothing listens there
    r = _cloud("serve", "--port", str(free_port()), "--db", f"postgresql://inspector:s3cret@127.0.0.1:{closed}/x",
               tmp_path=tmp_path)  # fmt: skip
    assert r.returncode == 3, r.stderr
    assert f"cannot connect to the database postgresql://inspector:***@127.0.0.1:{closed}/x" in r.stderr
    assert "s3cret" not in r.stderr and "Traceback" not in r.stderr
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    r = _cloud("token", "create", "--station", "gs1", "--db", f"sqlite:///{folder}", tmp_path=tmp_path)
    assert r.returncode == 3 and f"cannot open the SQLite database {folder}" in r.stderr, r.stderr
    r = _cloud("serve", "--db", "cloud.db", tmp_path=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "error: settings: [cloud] db_url: db_url 'cloud.db' must start with sqlite:///" in r.stderr
    assert "Traceback" not in r.stderr and "errors.pydantic.dev" not in r.stderr


def test_a_bad_secret_is_named_but_not_echoed(monkeypatch) -> None:
    monkeypatch.setenv("RIVERPATROL_CLOUD_STATION_TOKENS", '{"gs1": 42}')
    with pytest.raises(
        SettingsError, match=r"\[cloud\] station_tokens.gs1: Input should be a valid string"
    ) as e:
        CloudSettings.load()
    assert "42" not in str(e.value)
