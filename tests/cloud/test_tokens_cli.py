"""``riverpatrol cloud token create | list | revoke`` against a real server on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cloud.cli import app
from tests.cloud.factory import STATION_TOKEN, spread


def _cli(*args: str):
    return CliRunner().invoke(app, ["token", *args])


def test_a_revoked_token_is_refused_at_once_and_list_shows_no_token(db_url, make_server, tmp_path) -> None:
    made: dict[str, list[str]] = {}
    made_stderr: dict[str, list[str]] = {}
    for role, name in (("station", "gs2"), ("inspector", "li.wei"), ("inspector", "li.wei")):
        r = _cli("create", f"--{role}", name, "--db", db_url)
        assert r.exit_code == 0, r.output
        made.setdefault(name, []).append(r.stdout.strip())
        made_stderr.setdefault(name, []).append(r.stderr)
    srv = make_server(db_url=db_url)  # its settings hold one more station token (gs1)
    with srv.client(made["gs2"][0]) as c:
        assert c.post("/api/v1/alerts", json=spread(1)).status_code == 200

    config = tmp_path / "cloud.toml"  # as the server's: one more station token, set in the file
    config.write_text(f'[cloud.station_tokens]\ngs1 = "{STATION_TOKEN}"\n')
    listed = _cli("list", "--db", db_url, "--config", str(config), "--json")
    rows = [json.loads(x) for x in listed.stdout.splitlines()]
    assert sorted((x["role"], x["holder"], x["source"]) for x in rows) == [
        ("inspector", "li.wei", "database"), ("inspector", "li.wei", "database"),
        ("station", "gs1", "config"), ("station", "gs2", "database")]  # fmt: skip
    assert all(x["created_at"] is None for x in rows if x["source"] == "config")
    table = _cli("list", "--db", db_url, "--config", str(config)).stdout
    for tok in [*made["gs2"], *made["li.wei"], STATION_TOKEN]:
        assert tok not in listed.stdout and tok not in table  # only ids: the first 12 hex of its SHA-256
    gs2 = next(x for x in rows if x["holder"] == "gs2")
    assert len(gs2["id"]) == 12 and gs2["id"] in table
    assert f"(id {gs2['id']}, for `token revoke`)" in made_stderr["gs2"][0]  # create said the same id

    revoked = _cli("revoke", gs2["id"][:8], "--db", db_url)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked 1 token(s) of station 'gs2'" in revoked.stdout
    with srv.client(made["gs2"][0]) as c:
        r = c.post("/api/v1/alerts", json=spread(1))
    assert r.status_code == 401 and "unknown or revoked" in r.text  # the running server, no restart
    with srv.client(STATION_TOKEN) as c:
        assert c.post("/api/v1/alerts", json=spread(1)).status_code == 200  # the others still work

    both = _cli("revoke", "--inspector", "li.wei", "--db", db_url)
    assert both.exit_code == 0 and "revoked 2 token(s) of inspector 'li.wei'" in both.stdout
    left = _cli("list", "--db", db_url, "--config", str(config), "--json").stdout.splitlines()
    assert [(x["holder"], x["source"]) for x in map(json.loads, left)] == [("gs1", "config")]


def test_revoke_says_what_it_cannot_do(db_url, tmp_path) -> None:
    again = _cli("revoke", "--station", "nobody", "--db", db_url)
    assert again.exit_code == 3 and "no token in the database for station 'nobody'" in again.output
    short = _cli("revoke", "abc", "--db", db_url)
    assert short.exit_code == 2 and "not a token id" in short.output
    both = _cli("revoke", "abcdef12", "--station", "x", "--db", db_url)
    assert both.exit_code == 2 and "exactly one of ID, --station or --inspector" in both.output
    config = tmp_path / "cloud.toml"
    config.write_text('[cloud.station_tokens]\ngs9 = "plain-token"\n')
    in_config = _cli("revoke", "--station", "gs9", "--db", db_url, "--config", str(config))
    assert in_config.exit_code == 3 and "set in the config file: remove it there" in in_config.output
