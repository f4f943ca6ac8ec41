"""``riverpatrol gcs mission ...``: put a patrol on a vehicle, fly it, interrupt it and resume it.

Pure parts: ``files`` (mission files <-> vehicle items), ``compare`` (read-back diff),
``resume`` (where to pick a patrol up again, and its small per-vehicle state file format).
Imperative shell: ``flight`` (sequences of ``VehicleClient`` calls) and ``cli`` (typer).
"""
