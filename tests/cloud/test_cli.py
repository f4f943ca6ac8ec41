"""``riverpatrol cloud serve`` as a real process: health, metrics, structured logs, ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

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
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    try:
        wait_port(port, timeout=20)
        base = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{base}/healthz").json()
        assert health["status"] == "ok" and health["db"] == "sqlite" and health["schema_version"] == 1
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
