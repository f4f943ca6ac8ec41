"""Exceptions of the vehicle client: each says what was asked, of whom, and what came back."""

from __future__ import annotations


class MavlinkError(Exception):
    """Base class of every vehicle-client error."""


class MavlinkTimeout(MavlinkError, TimeoutError):
    """The vehicle did not answer in time (after the retries)."""


class NoHeartbeat(MavlinkTimeout):
    """No autopilot heartbeat on the connection."""


class LinkClosed(MavlinkError, ConnectionError):
    """The connection to the vehicle closed."""


class CommandRejected(MavlinkError):
    """The vehicle answered a command with something other than MAV_RESULT_ACCEPTED."""

    def __init__(self, message: str, result: int, reason: str | None = None) -> None:
        super().__init__(message)
        self.result = result
        self.reason = reason


class MissionRejected(MavlinkError):
    """The vehicle ended a mission transfer with a MISSION_ACK other than MAV_MISSION_ACCEPTED."""

    def __init__(self, message: str, result: int) -> None:
        super().__init__(message)
        self.result = result
