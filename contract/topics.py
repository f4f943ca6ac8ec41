"""MQTT topic layout, defined once.

``riverpatrol/v1/<drone_id>/<kind>``; the version segment lets a fleet migrate without
mixing payload generations on one topic.
"""

from __future__ import annotations

ROOT = "riverpatrol/v1"

ALERTS = "alerts"
TELEMETRY = "telemetry"
STATUS = "status"
#: Each landed flight, as the drone logged it (QoS 1, from its outbox).
FLIGHTS = "flights"


def drone_topic(drone_id: str, kind: str) -> str:
    """Topic of one drone's ``kind`` stream (``alerts``, ``telemetry``, ``status`` or ``flights``)."""
    if not drone_id or any(c in drone_id for c in "/+#"):
        raise ValueError(f"drone id {drone_id!r} must be non-empty and free of '/', '+', '#'")
    return f"{ROOT}/{drone_id}/{kind}"


def fleet_filter(kind: str) -> str:
    """Subscription filter matching ``kind`` from every drone."""
    return f"{ROOT}/+/{kind}"


def shared_filter(group: str, kind: str) -> str:
    """MQTT 5 shared-subscription filter: relays in one group split the fleet's messages."""
    return f"$share/{group}/{fleet_filter(kind)}"


def parse(topic: str) -> tuple[str, str]:
    """(drone_id, kind) of a topic under :data:`ROOT`; ``ValueError`` otherwise."""
    prefix = ROOT + "/"
    if not topic.startswith(prefix):
        raise ValueError(f"topic {topic!r} is not under {ROOT!r}")
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 2:
        raise ValueError(f"topic {topic!r} is not {ROOT}/<drone_id>/<kind>")
    return parts[0], parts[1]
