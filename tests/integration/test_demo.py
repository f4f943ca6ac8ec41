"""The README's first command runs the demo: it must fly the patrol and land, as a newcomer sees it."""

from __future__ import annotations

import subprocess
import sys


def test_demo_flies_the_patrol_and_lands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "riverpatrol", "demo", "--port", "0", "--speedup", "60"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "mission uploaded and verified" in out.stdout
    assert "done: vehicle landed" in out.stdout
