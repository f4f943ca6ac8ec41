"""The flight controller's board id, read off AUTOPILOT_VERSION as every component reads it."""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401  (MAVLink 2 before pymavlink's dialect)
from contract.mavlink import board_id


def version(uid: int, uid2: list[int] | None = None) -> mav.MAVLink_autopilot_version_message:
    return mav.MAVLink_autopilot_version_message(
        0, 0, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0, uid, uid2 or [0] * 18
    )


def test_the_board_id_is_uid2_where_set_else_uid_else_none() -> None:
    wide = list(range(1, 19))
    assert board_id(version(0x1234, wide)) == bytes(wide).hex()  # the 18-byte id wins
    assert board_id(version(0x1234)) == "0000000000001234"  # zero-padded: one id, one spelling
    assert board_id(version(0)) is None  # a board that reports none
    # what came over the wire reads the same as what was built
    packed = version(0xFEDCBA9876543210).pack(mav.MAVLink(None, srcSystem=1, srcComponent=1))
    decoded = mav.MAVLink(None).decode(bytearray(packed))
    assert board_id(decoded) == "fedcba9876543210"
