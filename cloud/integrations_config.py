"""Settings models of the cloud's people-facing parts (inspector page, notifications, CIM sync).

Kept apart from ``cloud/settings.py`` so the core and the integrations can grow independently;
``CloudSettings`` embeds these as nested tables: ``[cloud.notify]``, ``[cloud.sync]``,
``[[cloud.segments]]``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class SegmentConfig(BaseModel):
    """A stretch of river and who answers for it."""

    id: str
    name: str = ""
    river: str = ""
    inspectors: list[str] = Field(default_factory=list, description="Inspector ids paged for this stretch.")
    review_required: bool = Field(default=False, description="AI finds need human confirmation first.")


class NotifyConfig(BaseModel):
    """Where and how often inspectors are paged."""

    apprise_urls: dict[str, list[str]] = Field(
        default_factory=dict, description="Inspector id -> apprise URLs (wecom://, dingtalk://, feishu://...)."
    )
    cooldown_s: float = 300.0
    per_segment_per_hour: int = 6


class SyncConfig(BaseModel):
    """Outbound CIM connectors; empty URL disables one."""

    geojson_webhook_url: str = ""
    sensorthings_url: str = ""
