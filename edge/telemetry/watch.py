"""Watchdogs with injected time: is the link alive, and do the streams we asked for arrive?

Pure state machines so the rules are unit tested without sockets or sleeps; the link thread
feeds them ``time.monotonic()``.
"""

from __future__ import annotations

from enum import Enum


class LinkEvent(Enum):
    UP = "up"  # first message ever from the vehicle
    LOST = "lost"  # silent for longer than the timeout
    RECOVERED = "recovered"  # heard again after a loss


class LinkWatch:
    """Link up/lost/recovered from the times messages from the vehicle were heard."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.up = False
        self.ever_up = False
        self.losses = 0
        self.last_heard: float | None = None

    def heard(self, now: float) -> LinkEvent | None:
        """A message from the vehicle arrived at ``now``."""
        self.last_heard = now
        if self.up:
            return None
        self.up = True
        if self.ever_up:
            return LinkEvent.RECOVERED
        self.ever_up = True
        return LinkEvent.UP

    def check(self, now: float) -> LinkEvent | None:
        """Call periodically; returns LOST once when the silence exceeds the timeout."""
        if self.up and self.last_heard is not None and now - self.last_heard > self.timeout_s:
            self.up = False
            self.losses += 1
            return LinkEvent.LOST
        return None

    def silent_for(self, now: float) -> float | None:
        """Seconds since the vehicle was last heard, None if never."""
        return None if self.last_heard is None else now - self.last_heard


class StreamWatch:
    """When to (re-)request telemetry streams: never asked yet, or asked and nothing came."""

    def __init__(self, check_s: float) -> None:
        self.check_s = check_s
        self.requested_at: float | None = None
        self.last_seen: float | None = None
        self.requests = 0

    def requested(self, now: float) -> None:
        self.requested_at = now
        self.requests += 1

    def seen(self, now: float) -> None:
        """A message of a requested stream arrived."""
        self.last_seen = now

    def reset(self) -> None:
        """Streams must be asked for again (vehicle rebooted, or link recovered)."""
        self.requested_at = None

    def due(self, now: float) -> bool:
        if self.requested_at is None:
            return True
        latest = max(self.requested_at, self.last_seen or self.requested_at)
        return now - latest >= self.check_s
