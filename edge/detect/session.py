"""One way to open an onnxruntime session on the companion computer's CPU, with a clear error."""

from __future__ import annotations

from pathlib import Path

from edge.detect.errors import ModelLoadError


def open_session(path: Path, where: str, threads: int, spin: bool = True):
    """An ``InferenceSession`` on ``path`` or ``ModelLoadError`` saying why not (``where`` leads it).

    ``spin=False`` stops its threads spin-waiting after a run: a small second model must not keep
    the cores busy while the next frame's detector needs them.
    """
    import onnxruntime as ort

    if not Path(path).is_file():
        raise ModelLoadError(f"{where}: file does not exist")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for non-ONNX bytes
        raise ModelLoadError(f"{where}: not a loadable ONNX model ({type(exc).__name__}: {exc})") from exc
