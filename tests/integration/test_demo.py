"""The README's first command runs the demo: the whole data path, drone to cloud, as a newcomer sees it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import sqlite_utils


def test_demo_carries_finds_from_the_drone_to_the_cloud(tmp_path: Path) -> None:
    """A shortened patrol (the first 65 s of flight) over a heavily littered river, with the drone's
    radio link cut for 20 s of it and its camera losing frames, corrupting some and off for 7 s:
    every alert the edge agent sent is relayed and is in the cloud's database, none is left on the
    drone, the edge skipped each corrupt frame and came back after the blackout, and the summary
    scores the finds."""
    work = tmp_path / "demo"
    out = subprocess.run(
        [sys.executable, "-m", "riverpatrol", "demo", "--port", "0", "--cloud-port", "0", "--no-serve",
         "--debris", "80", "--duration", "65", "--workdir", str(work),
         "--feed", "960x540", "--speedup", "3",  # lighter than the default: the data path is under test
         "--link-outage", "15:35", "--frame-loss", "5", "--frame-corrupt", "5", "--camera-blackout", "45:52"],
        capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    text = re.sub(r"\s+", " ", out.stdout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "mission uploaded and verified" in text and re.search(
        r"geofence on: \d+ corners 30 m around", text
    )
    # in a log (not a terminal) each line stands alone: the patrol screen's last line ends before the next
    assert re.search(r"┘\nending the flight", out.stdout), out.stdout[-3000:]
    assert "(embedded amqtt)" in text and "/inspector/" in text
    m = re.search(r"(\d+) alert messages sent, (\d+) relayed, (\d+) debris items in the cloud", text)
    assert m, text[-1500:]
    sent, relayed, in_cloud = map(int, m.groups())
    assert sent >= 1, "the patrol over 80 littered items sent no alert"
    assert relayed == sent, "alerts lost between the drone and the ground station"
    assert "radio link cut 1 time(s), 15-35 s of the patrol" in text
    assert re.search(r"waited on the drone; 0 left in its outbox at the end", text), text[-1500:]
    db = sqlite_utils.Database(next((work / "cloud").glob("*.db")))
    ids = {r["alert_id"] for r in db.query("select alert_id from items")}
    assert len(ids) == in_cloud >= 1
    assert re.search(r"(\d+) of (\d+) items passed alerted", text)
    assert (work / "truth.jsonl").stat().st_size > 0
    # off a terminal the patrol's progress is printed as it happens: a status line on a timer, each find
    assert len(re.findall(r"^t\+\d+ s: mission item \d+/\d+ ", out.stdout, re.M)) >= 2, out.stdout[-3000:]
    assert len(re.findall(r"^find in the cloud: ", out.stdout, re.M)) <= in_cloud
    # every log line of every component is one JSON object that keeps its fields
    logs = [json.loads(x) for f in ("demo.log", "sim.log") for x in (work / f).read_text().splitlines()]
    assert any(x["msg"] == "alerts ingested" and x["accepted"] >= 1 for x in logs)
    assert any(x["msg"] == "statustext" and "Mission" in x["text"] for x in logs)
    assert not [
        x["text"] for x in logs if x["msg"] == "statustext" and "Fence" in x["text"]
    ]  # flew inside it
    fates = [json.loads(line)["fate"] for line in (work / "truth.jsonl").read_text().splitlines()]
    m = re.search(
        r"the simulator lost (\d+) frame\(s\) and sent (\d+) corrupt; the edge skipped (\d+) frame\(s\).*?"
        r"camera off 45-52 s of the patrol: the edge had no frame for up to (\d+) s and reconnected "
        r"(\d+) time\(s\)",
        text,
    )
    assert m, text[-1500:]
    lost, corrupt, skipped, gap, reconnects = map(int, m.groups())
    assert lost == fates.count("dropped") >= 1 and corrupt == fates.count("corrupt") >= 1
    assert skipped >= corrupt - 1  # none reached the detector (one may be in flight as the agent stops)
    assert gap >= 5 and reconnects >= 1
