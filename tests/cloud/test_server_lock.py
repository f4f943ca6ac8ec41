"""One cloud server per data_dir: a second is refused by name, restore will not write under a
running one, and a server killed with -9 leaves no lock behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cloud.server_lock import ServerLocked, hold, running_server
from tests.conftest import free_port, wait_port


def _cloud(tmp_path: Path, *args: str, wait: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVERPATROL_")}
    env["RIVERPATROL_CLOUD_DATA_DIR"] = str(tmp_path / "data")
    cmd = [sys.executable, "-c", "from riverpatrol.cli import main; main()", "cloud", *args]
    if wait:
        return subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    log = (tmp_path / "server.log").open("ab")
    return subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=log, stderr=log)


def test_a_second_holder_is_told_who_has_the_data_dir(tmp_path: Path) -> None:
    with hold(tmp_path):
        assert running_server(tmp_path).startswith(f"pid {os.getpid()} on ")
        with (
            pytest.raises(
                ServerLocked, match=rf"another cloud server is running on data_dir .*pid {os.getpid()}"
            ),
            hold(tmp_path),
        ):
            pass
    assert running_server(tmp_path) is None
    with hold(tmp_path):  # free again once its holder let go
        pass


def test_serve_and_restore_refuse_a_running_server_s_data_dir_and_kill_9_frees_it(tmp_path: Path) -> None:
    port = free_port()
    first = _cloud(tmp_path, "serve", "--port", str(port), wait=False)
    try:
        wait_port(port, timeout=30)
        holder = running_server(tmp_path / "data")
        assert holder is not None and holder.startswith(f"pid {first.pid} on ")

        second = _cloud(tmp_path, "serve", "--port", str(free_port()))
        assert second.returncode == 5, second.stderr
        assert (
            f"a cloud server is running on data_dir {tmp_path / 'data'} (pid {first.pid} on " in second.stderr
        )
        assert "Traceback" not in second.stderr

        archive = tmp_path / "riverpatrol-cloud-x.tar.gz"
        archive.write_bytes(b"not looked at")
        restore = _cloud(tmp_path, "restore", str(archive), "--force")
        assert restore.returncode == 5 and "stop it first" in restore.stderr, restore.stderr
        assert first.poll() is None  # the running server was left alone
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert running_server(tmp_path / "data") is None  # the kernel let go with the process
    with hold(tmp_path / "data"):
        pass
