"""Durable relay of the fleet's alerts from the ground station's MQTT broker to the cloud.

Flow: MQTT (persistent session, QoS 1) -> :mod:`.outbox` (SQLite, committed before the broker
gets its PUBACK) -> :mod:`.forwarder` (batched HTTP POST with the alert's (id, revision) as the
idempotency key, exponential backoff with full jitter) -> cloud. A cloud outage, a broker restart
or ``kill -9`` of the relay loses nothing; the cloud's idempotent ingest absorbs a batch resent
after a crash, so nothing is duplicated there either.
"""
