"""``riverpatrol <component> config``: the settings as a config file that loads back as they were."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from cloud.settings import CloudSettings
from contract.settings import ComponentSettings, to_toml
from edge.settings import EdgeSettings
from ground_station.settings import GcsSettings
from sim.settings import SimSettings


@pytest.mark.parametrize("cls", [EdgeSettings, GcsSettings, CloudSettings, SimSettings])
def test_every_components_defaults_print_as_a_file_that_loads_back_the_same(
    cls: type[ComponentSettings], tmp_path: Path
) -> None:
    defaults = cls.load()
    text = to_toml(defaults)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    assert cls.load(path).model_dump() == defaults.model_dump()
    described = [f for f in type(defaults).model_fields.values() if f.description]
    assert sum(line.startswith("# ") for line in text.splitlines()) >= len(described)


NAME = '深圳河 "福田段"'  # quotes and CJK in a TOML string


def test_tables_arrays_odd_keys_and_secrets(tmp_path: Path) -> None:
    settings = CloudSettings.load(
        db_url="postgresql://rp:hunter2@db.example/rp",
        inspector_tokens={"li.wei": "s3cret"},
        segment_lines={"sz-1": [(114.05, 22.52), (114.06, 22.521)]},
        segments=[
            {
                "id": "sz-1",
                "name": NAME,
                "inspectors": ["li.wei"],
                "review_required": True,
                "supervisors": ["zhou"],
            }
        ],
        notify={"apprise_urls": {"li.wei": ["wecom://corp/secret/1"]}, "language": "zh"},
    )
    text = to_toml(settings)
    assert "hunter2" not in text and "s3cret" not in text and "corp/secret" not in text
    assert 'db_url = "postgresql://rp:...@db.example/rp"' in text
    assert '# inspector_tokens = { "li.wei" = "..." }  (set, not shown: a secret)' in text
    doc = tomllib.loads(text)["cloud"]
    segment = {
        "id": "sz-1",
        "name": NAME,
        "river": "",
        "inspectors": ["li.wei"],
        "review_required": True,
        "patrol_every_h": 0.0,
        "supervisors": ["zhou"],
    }
    assert doc["segments"] == [segment]
    assert doc["segment_lines"] == {"sz-1": [[114.05, 22.52], [114.06, 22.521]]}
    assert doc["notify"]["language"] == "zh" and "apprise_urls" not in doc["notify"]
    assert "inspector_tokens" not in doc


def test_the_command_prints_what_the_file_and_environment_say(tmp_path: Path) -> None:
    cfg = tmp_path / "drone.toml"
    cfg.write_text('[edge]\ndrone_id = "dji-m30-07"\n', encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "riverpatrol", "edge", "config", "--config", str(cfg)],
        capture_output=True, text=True, timeout=60, check=True,
        env={"RIVERPATROL_EDGE_BROKER_HOST": "gs1.lan", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    edge = tomllib.loads(run.stdout)["edge"]
    assert edge["drone_id"] == "dji-m30-07" and edge["broker_host"] == "gs1.lan"
    assert "# model =  (not set)" in run.stdout
