"""The systemd units in ``deploy/`` start commands that exist, from the settings file they name."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riverpatrol.cli import app

UNITS = sorted((Path(__file__).parents[2] / "deploy" / "systemd").glob("*.service"))


def _unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(path, encoding="utf-8")
    return unit


def test_there_is_a_unit_for_each_long_running_component_and_the_nightly_backup() -> None:
    assert [u.name for u in UNITS] == [
        "riverpatrol-cloud-backup.service",
        "riverpatrol-cloud.service",
        "riverpatrol-edge.service",
        "riverpatrol-relay.service",
    ]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_a_unit_runs_a_real_command_with_its_config(path: Path) -> None:
    service = _unit(path)["Service"]
    exe, *args = shlex.split(service["ExecStart"])
    assert exe.endswith("/bin/riverpatrol") and args
    r = CliRunner().invoke(app, [*args, "--help"])
    assert r.exit_code == 0, r.output  # the subcommand exists, as written
    env = dict(kv.split("=", 1) for kv in shlex.split(service["Environment"]))
    assert env["RIVERPATROL_CONFIG"].startswith("/etc/riverpatrol/")
    readme = (path.parents[1] / "README.md").read_text()
    assert f"{env['RIVERPATROL_CONFIG'].rsplit('/', 1)[1]}" in readme and path.name in readme
    assert service["WorkingDirectory"] == "/var/lib/riverpatrol" and service["User"] == "riverpatrol"
    if service.get("Type") == "oneshot":  # started by its timer, which the README installs too
        timer = _unit(path.with_suffix(".timer"))
        assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"
        assert path.with_suffix(".timer").name in readme
    else:  # a long-running service: back after any death, and at boot
        assert service["Restart"] == "always"
        assert _unit(path)["Install"]["WantedBy"] == "multi-user.target"
