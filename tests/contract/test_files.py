"""``contract.files.write_atomic``: the whole new file or the old one, and private when asked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from contract.files import write_atomic


def test_a_state_file_is_replaced_whole_and_a_secret_is_its_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    write_atomic(path, '{"a": 1}')
    write_atomic(path, '{"a": 2}')
    assert path.read_text() == '{"a": 2}' and os.listdir(path.parent) == ["state.json"]  # no .tmp left
    key = tmp_path / "key.pem"
    write_atomic(key, b"\x00secret", private=True)
    assert key.read_bytes() == b"\x00secret" and stat.S_IMODE(key.stat().st_mode) == 0o600
