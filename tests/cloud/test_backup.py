"""``riverpatrol cloud backup | restore``: a running server's state into one archive, and back
into a new server that carries on: its finds, work orders, tokens and the phones' Web Push key."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from cloud.backup import PREFIX, Source, make_backup, prune, read_archive
from cloud.cli import app
from cloud.storage.sql import MIGRATIONS
from tests.cloud.factory import INSPECTOR_TOKENS, alert
from tests.cloud_notify.test_channels import browser_subscription

SCHEMA = MIGRATIONS[-1][0]


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def _config(tmp_path: Path, name: str, data_dir: Path) -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[cloud]\ndata_dir = "{data_dir}"\n')
    return str(path)


def test_a_backup_of_a_running_server_restores_into_one_that_carries_on(
    db_url, make_server, fresh_pg, tmp_path
) -> None:
    srv = make_server(db_url=db_url)
    a, b = alert(), alert(drone="d2", lat=22.5207, lon=114.0660)
    with srv.client() as station:
        assert station.post("/api/v1/alerts", json=[a, b]).status_code == 200
    made = _cli("token", "create", "--inspector", "chen", "--db", db_url)
    assert made.exit_code == 0, made.output
    chen = made.stdout.strip()
    with srv.client(INSPECTOR_TOKENS["alice"]) as alice:
        assert alice.post(f"/api/v1/workorders/{a['alert_id']}/claim", json={}).status_code == 200
        _key, _auth, sub = browser_subscription("https://push.example/sub/alice-phone")
        assert alice.post("/inspector/push/subscribe", json={"subscription": sub}).status_code == 201
        vapid = alice.get("/inspector/push/key").json()["publicKey"]

    old = _config(tmp_path, "old", tmp_path / "data")
    r = _cli("backup", str(tmp_path / "backups"), "--db", db_url, "--config", old)  # the server still runs
    assert r.exit_code == 0, r.output
    (archive,) = (tmp_path / "backups").glob(f"{PREFIX}*.tar.gz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds the Web Push private key
    kind = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    assert f"backed up {kind} (schema {SCHEMA}: 2 finds, 2 work orders, 1 tokens)" in r.stdout, r.stdout

    new_db = f"sqlite:///{tmp_path / 'new' / 'cloud.db'}" if kind == "sqlite" else fresh_pg()
    new = _config(tmp_path, "new", tmp_path / "new")
    r = _cli("restore", str(archive), "--db", new_db, "--config", new)
    assert r.exit_code == 0, r.output
    assert f"(schema {SCHEMA}: 2 finds, 2 work orders, 1 tokens); start the server" in r.stdout
    again = _cli("restore", str(archive), "--db", new_db, "--config", new)
    assert again.exit_code == 4 and "would write over" in again.output and "--force" in again.output

    restored = make_server(db_url=new_db, data_dir=tmp_path / "new")
    with restored.client(chen) as c:  # a token made after the last restart: it lived in the database
        order = c.get(f"/api/v1/workorders/{a['alert_id']}").json()
        assert (order["status"], order["assignee"]) == ("dispatched", "alice")
        assert c.get(f"/api/v1/workorders/{b['alert_id']}").json()["status"] == "new"
        thumb = c.get(f"/ogc/collections/debris/items/{a['alert_id']}").json()["properties"]["thumbnail"]
        assert c.get(thumb).headers["content-type"] == "image/jpeg"
        assert c.get("/inspector/push/key").json()["publicKey"] == vapid  # the phones' subscriptions hold
    assert restored.app.state.notify.subs.of("alice")[0]["endpoint"] == sub["endpoint"]

    forced = _cli(
        "restore", str(archive), "--db", new_db, "--config", _config(tmp_path, "x", tmp_path / "x"), "--force"
    )
    assert forced.exit_code == 0, forced.output


def test_a_damaged_archive_is_refused_before_anything_is_written_and_old_backups_are_pruned(tmp_path) -> None:
    db = tmp_path / "data" / "cloud.db"
    from cloud.storage import open_store

    open_store(f"sqlite:///{db}").close()
    (tmp_path / "data" / "notify").mkdir()
    (tmp_path / "data" / "notify" / "vapid_private.pem").write_text("key")
    src = Source(tmp_path / "data", sqlite_path=db)
    made = [make_backup(src, tmp_path / "b", now=1_800_000_000 + i * 86400)[0] for i in range(3)]
    assert [p.name for p in prune(tmp_path / "b", keep=2)] == [made[0].name]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [made[1].name, made[2].name]

    raw = bytearray(made[2].read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(bytes(raw))
    target = tmp_path / "target"
    r = _cli(
        "restore",
        str(bad),
        "--db",
        f"sqlite:///{target / 'cloud.db'}",
        "--config",
        _config(tmp_path, "t", target),
    )
    assert r.exit_code == 4 and str(bad) in r.output
    assert "damaged" in r.output or "not a readable backup" in r.output, r.output
    assert not target.exists()
    r = _cli(
        "restore",
        str(tmp_path / "data" / "notify" / "vapid_private.pem"),
        "--config",
        _config(tmp_path, "t", target),
    )
    assert r.exit_code == 4 and "not a readable backup" in r.output
    manifest, blobs = read_archive(made[2])
    assert set(manifest["files"]) == {"database/cloud.db", "data_dir/notify/vapid_private.pem"}
    assert blobs["data_dir/notify/vapid_private.pem"] == b"key"
    r = _cli("backup", str(tmp_path / "b"), "--db", f"sqlite:///{tmp_path / 'nowhere.db'}")
    assert r.exit_code == 4 and "no database at" in r.output


def test_a_restore_refuses_a_database_of_the_other_kind(tmp_path) -> None:
    from cloud.storage import open_store

    db = tmp_path / "cloud.db"
    open_store(f"sqlite:///{db}").close()
    archive, _ = make_backup(Source(tmp_path / "none", sqlite_path=db), tmp_path / "b")
    r = _cli("restore", str(archive), "--db", "postgresql://postgres@127.0.0.1:1/none")
    assert r.exit_code == 4 and "holds a sqlite database but this server is set up for PostgreSQL" in r.output
