"""Comma-separated number options of the model tools (``--thresholds``, ``--weights``)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from models.build import parse_floats


def test_numbers_are_read_in_order_with_blanks_and_spaces_skipped():
    assert parse_floats("0.99, 0.992,,1") == (0.99, 0.992, 1.0)
    assert parse_floats("0") == (0.0,)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0.99,O.992", "'O.992'"),
        ("0.5,nan", "'nan'"),
        ("1.5", "'1.5'"),
        ("-0.1", "'-0.1'"),
        (" , ", "no numbers"),
    ],
)
def test_a_word_that_is_not_a_number_from_0_to_1_is_named_with_its_option(text, says):
    with pytest.raises(typer.BadParameter) as err:
        parse_floats(text, "--weights")
    assert says in str(err.value) and "--weights" in str(err.value)


def test_compare_verifiers_stops_on_a_typo_before_it_flies_any_patrol(tmp_path, monkeypatch):
    """A bad ``--weights`` used to surface after the patrols' rendering (tens of minutes)."""
    import models.build
    from models.compare_verifiers import app

    def no_flying(*_a, **_k):
        raise AssertionError("patrols flown before the options were checked")

    monkeypatch.setattr(models.build, "validation_patrols", no_flying)
    shipped = str(models.build.DEFAULT_OUT.with_name("riverpatrol_verifier.onnx"))
    result = CliRunner().invoke(app, [shipped, "--weights", "0.01,0,02x"])
    assert result.exit_code == 2, result.output
    assert "'02x'" in result.output
