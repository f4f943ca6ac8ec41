"""Vehicle settings: TOML ``[sim.vehicle]``, nested environment variables, fault-window spellings."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from contract.settings import SettingsError
from sim.settings import BatterySag, GpsGlitch, SimSettings, VehicleSettings, Window, parse_endpoint


def test_fault_windows_accept_the_command_line_spelling() -> None:
    assert Window.model_validate("30:40") == Window(start=30, end=40)
    assert Window.model_validate([1, 2]) == Window(start=1, end=2)
    lost = GpsGlitch.model_validate("60:70")
    jump = GpsGlitch.model_validate("60:70:30,-10")
    assert lost.loses_fix and not jump.loses_fix and (jump.north_m, jump.east_m) == (30, -10)
    assert BatterySag.model_validate("300:1.5:10") == BatterySag(at=300, volts=1.5, amps=10)
    for bad in ("40:30", "x:1", "1"):
        with pytest.raises(ValidationError):
            Window.model_validate(bad)
    with pytest.raises(ValidationError):
        GpsGlitch.model_validate("1:2:3")


def test_endpoints() -> None:
    assert parse_endpoint("127.0.0.1:14550") == ("127.0.0.1", 14550)
    assert parse_endpoint("udp:10.0.0.2:14551") == ("10.0.0.2", 14551)
    for bad in ("14550", "host:port", "h:70000"):
        with pytest.raises(ValueError):
            parse_endpoint(bad)
    with pytest.raises(ValidationError):
        VehicleSettings(udp_out=["nope"])


def test_toml_then_environment_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "rp.toml"
    cfg.write_text(
        "[sim.vehicle]\n"
        "speedup = 5\n"
        'blackouts = ["30:40", [50, 55]]\n'
        'udp_out = ["127.0.0.1:14551", "127.0.0.1:14552"]\n'
        "params = { wpnav_speed = 600 }\n"
    )
    s = SimSettings.load(cfg).vehicle
    assert s.speedup == 5 and s.blackouts == [Window(start=30, end=40), Window(start=50, end=55)]
    assert s.udp_endpoints() == [("127.0.0.1", 14551), ("127.0.0.1", 14552)]
    assert s.params == {"WPNAV_SPEED": 600.0}
    monkeypatch.setenv("RIVERPATROL_SIM_VEHICLE__SPEEDUP", "25")
    assert SimSettings.load(cfg).vehicle.speedup == 25
    with pytest.raises(SettingsError, match=r"missing\.toml does not exist"):
        SimSettings.load(tmp_path / "missing.toml")


def test_defaults_match_arduPilot_sitl_endpoints() -> None:
    s = VehicleSettings()
    assert s.tcp_port == 5760 and s.udp_out == ["127.0.0.1:14550"]
    assert s.mission_request == "request" and s.link_clock == "wall"


def test_bad_settings_name_the_section_field_and_value_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "rp.toml"
    cfg.write_text("[sim.vehicle]\nspeedup = -2\nnot_a_setting = 1\n")
    with pytest.raises(SettingsError) as e:
        SimSettings.load(cfg)
    assert str(e.value) == (
        "[sim] vehicle.speedup: Input should be greater than 0 (got -2); "
        "[sim] vehicle.not_a_setting: no such setting"
    )
    cfg.write_text("[sim.vehicle\nspeedup = 2\n")
    with pytest.raises(SettingsError, match=r"rp\.toml: .*line 1"):
        SimSettings.load(cfg)
    cfg.write_text("sim = 3\n")
    with pytest.raises(SettingsError, match=r"\[sim\] is not a table"):
        SimSettings.load(cfg)
    monkeypatch.setenv("RIVERPATROL_SIM_VEHICLE__TCP_PORT", "http")
    with pytest.raises(SettingsError, match=r"\[sim\] vehicle.tcp_port: .*integer.*\(got 'http'\)"):
        SimSettings.load()
