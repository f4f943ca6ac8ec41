"""The shipped debris detector: synthetic dataset, training, ONNX export, evaluation, model card.

Rebuild everything from scratch with ``python -m models.build``.
"""
