"""``riverpatrol model``: the debris detector measured on, and fitted to, imagery of your own river.

Each command's module imports its heavy dependencies (onnxruntime, torch) inside the command.
"""

from __future__ import annotations

import typer

from models.finetune import main as finetune_cmd
from models.score_folder import score_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def _root() -> None:
    """Measure the detector on labelled imagery of your own river, or fine-tune it there."""


app.command("score")(score_cmd)
app.command("finetune")(finetune_cmd)
