"""``riverpatrol edge detect --save DIR``: each image, and a video's run frames, with its detections drawn."""

from __future__ import annotations

import cv2
import numpy as np
from typer.testing import CliRunner

from edge.detect.annotate import CLASS_COLOURS, OTHER_COLOUR, draw_detections
from edge.detect.cli import app
from edge.detect.detection import Detection
from tests.detect.onnx_builders import bright_blob_centernet


def test_boxes_are_drawn_in_their_class_colour_and_the_frame_is_not_touched():
    frame = np.zeros((200, 300, 3), np.uint8)
    dets = [Detection(50, 60, 70, 80, 0.9, 0, "bottle"), Detection(280, 150, 299, 170, 0.8, 7, "tyre")]
    out = draw_detections(frame, dets)
    assert frame.max() == 0 and out.shape == frame.shape  # a copy
    assert tuple(out[60, 48]) == CLASS_COLOURS["bottle"]  # the box's left edge, 2 px off the item
    assert tuple(out[160, 278]) == OTHER_COLOUR  # a class of a model of your own
    assert out[65:76, 52:69].max() == 0  # the item itself is left as it was


def test_the_detect_command_saves_annotated_images_and_videos(tmp_path):
    model = bright_blob_centernet(tmp_path / "blob.onnx", (272, 480), 20)
    frame = np.zeros((544, 960, 3), np.uint8)
    frame[300:340, 600:640] = 255
    image = tmp_path / "shot.png"
    cv2.imwrite(str(image), frame)
    video = tmp_path / "pass.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (960, 544))
    for _ in range(6):
        writer.write(frame)
    writer.release()

    out = tmp_path / "annotated"
    res = CliRunner().invoke(
        app, ["detect", str(image), str(video), "--model", str(model), "--save", str(out), "--every", "2"]
    )
    assert res.exit_code == 0, res.output
    assert "wrote 4 annotated frame(s)" in res.output  # the image and 3 of the video's 6 frames
    drawn = cv2.imread(str(out / "shot.jpg"))
    assert drawn.shape == frame.shape
    assert np.abs(drawn.astype(int) - frame).sum(axis=2)[290:300, 590:650].max() > 100  # a box above it
    cap = cv2.VideoCapture(str(out / "pass.mp4"))
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 3 and cap.get(cv2.CAP_PROP_FPS) == 5.0
    cap.release()
