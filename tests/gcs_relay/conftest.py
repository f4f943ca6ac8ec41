"""Relay fixtures: a real cloud process (``riverpatrol cloud serve``) that tests can kill and restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from contract.messages import Alert
from tests.conftest import free_port, wait_port

STATION_TOKEN = "relay-test-token"
#: An inspector's token on the test cloud (asks for closer looks at finds).
INSPECTOR_TOKEN = "relay-test-inspector"


class CloudProcess:
    """The cloud service as its own OS process, so an outage is a real one."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "cloud.toml"
        self.config.write_text(
            "[cloud]\n"
            f'data_dir = "{workdir / "cloud"}"\n'
            f'station_tokens = {{ gs1 = "{STATION_TOKEN}" }}\n'
            f'inspector_tokens = {{ alice = "{INSPECTOR_TOKEN}" }}\n'
            'log_level = "WARNING"\n'
        )
        self.log = (workdir / "cloud.log").open("ab")
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "riverpatrol",
                "cloud",
                "serve",
                "--config",
                str(self.config),
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=self.log,
        )
        wait_port(self.port, timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def count(self) -> int:
        """How many alerts the cloud has stored (one cheap request)."""
        r = httpx.get(f"{self.url}/api/v1/alerts", params={"limit": 1}, timeout=10)
        r.raise_for_status()
        return r.json()["total"]

    def alerts(self) -> list[dict]:
        """Every stored alert, following the read API's paging."""
        out: list[dict] = []
        offset = 0
        while True:
            r = httpx.get(f"{self.url}/api/v1/alerts", params={"limit": 500, "offset": offset}, timeout=10)
            r.raise_for_status()
            page = r.json()
            items = page.get("items", page if isinstance(page, list) else [])
            out.extend(items)
            if len(items) < 500:
                return out
            offset += len(items)


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[CloudProcess]:
    c = CloudProcess(tmp_path)
    c.start()
    yield c
    c.stop()
    c.log.close()


#: Test alerts are recent, as a relay's are: it forgets delivered ones months old.
_YESTERDAY_8AM = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=1)


def make_alert(i: int, drone: str = "d1", revision: int = 0) -> Alert:
    """A valid contract alert; ids are deterministic in ``i`` so tests can look them up."""
    t = _YESTERDAY_8AM + timedelta(seconds=i)
    return Alert(
        alert_id=uuid.uuid5(uuid.NAMESPACE_URL, f"riverpatrol-test-{drone}-{i}"),
        revision=revision,
        event="new" if revision == 0 else "update",
        drone_id=drone,
        mission_id="m1",
        captured_at=t,
        published_at=t,
        lat=22.52 + i * 1e-4,
        lon=114.05 + (i % 7) * 1e-4,
        uncertainty_m=2.0,
        debris_class="bottle",
        confidence=0.9,
        track={"sightings": 3, "first_seen": t, "last_seen": t, "top_score": 0.9, "median_score": 0.8},
    )


def env_with_repo() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    return env
