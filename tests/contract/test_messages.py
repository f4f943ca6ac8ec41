"""Reading a message a newer sender wrote, and saying where a payload breaks the contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contract.messages import DroneStatus, validate_from_newer, where_invalid


def status(**extra: object) -> str:
    base = {"drone_id": "d1", "online": True, "time": datetime(2026, 12, 7, tzinfo=UTC).isoformat()}
    return json.dumps({**base, **extra})


def test_top_level_fields_a_newer_sender_added_are_left_out_and_named() -> None:
    msg, newer = validate_from_newer(DroneStatus, status(uptime_s=5, power="mains"))
    assert msg == DroneStatus.model_validate_json(status()) and newer == ["uptime_s", "power"]
    assert validate_from_newer(DroneStatus, status()) == (msg, [])


def test_anything_else_wrong_is_refused_and_where_is_said() -> None:
    with pytest.raises(ValidationError) as bad:  # a known field garbled, beside an unknown one
        validate_from_newer(DroneStatus, status(online="maybe", uptime_s=5))
    assert where_invalid(bad.value).startswith("online: Input should be a valid boolean")
    assert where_invalid(bad.value).endswith("(2 error(s))")
    with pytest.raises(ValidationError) as torn:
        validate_from_newer(DroneStatus, '{"drone_id": "d1", "onl')
    assert where_invalid(torn.value).startswith("payload: Invalid JSON")
