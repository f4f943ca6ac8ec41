"""The parameter table and store: ArduPilot names and types, coercion, read-only, change hooks."""

from __future__ import annotations

import pytest

from sim.vehicle.params import PARAM_TABLE, SPECS, ParamStore, ParamType


def test_table_has_unique_names_that_fit_mavlink() -> None:
    names = [p.name for p in PARAM_TABLE]
    assert len(names) == len(set(names))
    assert all(len(n) <= 16 and n == n.upper() for n in names)


@pytest.mark.parametrize(
    "name",
    [
        "WPNAV_SPEED", "WPNAV_ACCEL", "WPNAV_SPEED_UP", "WPNAV_SPEED_DN", "WPNAV_RADIUS", "RTL_ALT",
        "LAND_SPEED", "BATT_CAPACITY", "BATT_LOW_MAH", "BATT_LOW_VOLT", "BATT_FS_LOW_ACT", "FS_GCS_ENABLE",
        "FS_GCS_TIMEOUT", "ARMING_CHECK", "SYSID_THISMAV", "SR0_EXTRA1", "SR0_POSITION", "DISARM_DELAY",
    ],
)  # fmt: skip
def test_parameters_that_change_behaviour_are_served(name: str) -> None:
    assert name in SPECS


def test_integer_types_are_rounded_and_clamped() -> None:
    p = ParamStore()
    assert p.spec("DISARM_DELAY").type == ParamType.INT8
    assert p.set("DISARM_DELAY", 3.6) == 4.0
    assert p.set("DISARM_DELAY", 1000) == 127.0
    assert p.set("WPNAV_SPEED", 123.25) == 123.25
    with pytest.raises(ValueError):
        p.set("WPNAV_SPEED", float("nan"))


def test_read_only_unknown_and_overrides() -> None:
    p = ParamStore({"wpnav_speed": 500})
    assert p["WPNAV_SPEED"] == 500.0
    with pytest.raises(PermissionError):
        p.set("FORMAT_VERSION", 1)
    with pytest.raises(KeyError):
        p.set("NOPE", 1)
    with pytest.raises(KeyError):
        ParamStore({"NOPE": 1})


def test_change_listeners_see_changes_only() -> None:
    p = ParamStore()
    seen: list[tuple[str, float]] = []
    p.on_change(lambda n, v: seen.append((n, v)))
    p.set("RTL_ALT", 1500)  # the default: no change
    p.set("RTL_ALT", 3000)
    assert seen == [("RTL_ALT", 3000.0)]


def test_index_order_is_the_table_order() -> None:
    p = ParamStore()
    assert len(p) == len(PARAM_TABLE)
    for i, spec in enumerate(PARAM_TABLE):
        assert p.index(spec.name) == i
        assert p.at(i)[0] is spec
