"""Live fleet view for ``riverpatrol gcs status``.

``model`` is the pure fleet state fed with MQTT payloads and explicit times (unit-tested);
``mqtt`` is the thin broker adapter; ``render`` turns a snapshot into a rich table or JSON.
"""
