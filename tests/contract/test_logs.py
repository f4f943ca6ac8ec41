"""Every component's log line is one valid JSON object that keeps the fields its caller attached."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from contract.logs import JsonLineFormatter, KeyValueFormatter, configure_logging


def _record(msg: str, *args: object, extra: dict | None = None, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError('bad "value"\nsecond line')
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    rec = logging.LogRecord("riverpatrol.x", logging.WARNING, __file__, 1, msg, args, exc_info)
    rec.__dict__.update(extra or {})
    return rec


def test_quotes_newlines_and_a_traceback_still_make_one_valid_line() -> None:
    rec = _record("text=%s path=%s", "'PreArm: \"GPS\"'\nnext", "C:\\x", exc=True)
    line = JsonLineFormatter().format(rec)
    assert "\n" not in line
    out = json.loads(line)
    assert out["msg"] == "text='PreArm: \"GPS\"'\nnext path=C:\\x"
    assert out["level"] == "warning" and out["logger"] == "riverpatrol.x"
    assert "ValueError" in out["exc"] and 'bad "value"' in out["exc"]
    assert out["ts"].endswith("Z") and "T" in out["ts"]


def test_flat_and_dict_fields_land_as_keys_and_never_overwrite_the_base_ones() -> None:
    fields = {"severity": 2, "text": "héllo", "level": 3}
    rec = _record("statustext", extra={"station": "gs1", "fields": fields})
    out = json.loads(JsonLineFormatter().format(rec))
    assert out["station"] == "gs1" and out["severity"] == 2 and out["text"] == "héllo"
    assert out["msg"] == "statustext" and out["level"] == "warning" and out["field_level"] == 3
    assert "fields" not in out and "args" not in out and "exc" not in out
    text = KeyValueFormatter().format(rec)
    assert text == "statustext station=gs1 severity=2 text=héllo level=3"


def test_uvicorn_s_coloured_copy_of_the_message_is_left_out() -> None:
    rec = _record("Started server process [%d]", 42, extra={"color_message": "Started \x1b[36m%d\x1b[0m"})
    out = json.loads(JsonLineFormatter().format(rec))
    del out["ts"]
    assert out == {
        "level": "warning",
        "logger": "riverpatrol.x",
        "msg": "Started server process [42]",
    }


def test_objects_json_cannot_encode_are_written_as_text() -> None:
    out = json.loads(JsonLineFormatter().format(_record("saved", extra={"path": Path("/tmp/a b")})))
    assert out["path"] == "/tmp/a b"


def test_configure_logging_to_a_file_replaces_the_handlers_it_set_before(tmp_path: Path) -> None:
    name = "riverpatrol.test_logs_file"
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    configure_logging("INFO", path=first, logger=name)
    log = logging.getLogger(name)
    log.propagate = False
    log.info("one", extra={"n": 1})
    configure_logging("INFO", path=second, logger=name)
    log.info("two", extra={"n": 2, "river": "深圳河"})  # UTF-8 whatever the locale says
    log.debug("not at INFO")
    assert len(log.handlers) == 1
    log.handlers[0].close()
    assert [json.loads(x)["n"] for x in first.read_text().splitlines()] == [1]
    assert [json.loads(x)["river"] for x in second.read_text(encoding="utf-8").splitlines()] == ["深圳河"]


@pytest.mark.parametrize(("fmt", "json_lines"), [("auto", True), ("json", True), ("text", False)])
def test_auto_is_json_off_a_terminal(fmt: str, json_lines: bool) -> None:
    name = f"riverpatrol.test_logs_{fmt}"
    buf = io.StringIO()  # not a terminal
    configure_logging("WARNING", stream=buf, fmt=fmt, logger=name)  # type: ignore[arg-type]
    log = logging.getLogger(name)
    log.propagate = False
    log.warning("link lost", extra={"drone": "d1"})
    line = buf.getvalue().strip()
    if json_lines:
        assert json.loads(line)["drone"] == "d1"
    else:
        assert line.endswith("warning riverpatrol.test_logs_text: link lost drone=d1")


def test_stderr_is_looked_up_per_line_and_other_handlers_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CLI run in-process (a test's CliRunner) swaps stderr and then closes it; a handler that kept
    it would fail on every later line. And a test runner's own capture handler is left alone."""
    name = "riverpatrol.test_logs_stderr"
    log = logging.getLogger(name)
    log.propagate = False
    seen: list[str] = []
    foreign = logging.Handler()
    foreign.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    log.addHandler(foreign)
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", first)
    configure_logging("INFO", logger=name)
    configure_logging("INFO", logger=name)  # again: still one of ours
    log.info("one")
    first.close()
    monkeypatch.setattr("sys.stderr", second)
    log.info("two")
    assert [json.loads(x)["msg"] for x in second.getvalue().splitlines()] == ["two"]
    assert seen == ["one", "two"] and len(log.handlers) == 2
    log.removeHandler(foreign)
