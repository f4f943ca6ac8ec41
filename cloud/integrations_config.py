"""Settings models of the cloud's people-facing parts (inspector page, notifications, CIM sync).

Kept apart from ``cloud/settings.py`` so the core and the integrations can grow independently;
``CloudSettings`` embeds these as nested tables: ``[cloud.notify]``, ``[cloud.sync]``,
``[[cloud.segments]]``. Example::

    [[cloud.segments]]
    id = "shenzhen-4"                      # ids of the bundled centerlines (contract/rivers/)
    name = "Shenzhen River · Huanggang"
    inspectors = ["li.wei", "wecom-huanggang"]

    [cloud.notify]
    cooldown_s = 300                       # a cluster of debris on one stretch pages once
    per_segment_per_hour = 6
    language = "zh"                        # pages in Chinese (default en)
    [cloud.notify.apprise_urls]            # apprise URLs: chat hosts are fixed by apprise
    "li.wei" = ["dingtalk://SECsecret@access_token/"]   # signed DingTalk robot: secret@token
    "wecom-huanggang" = ["wecombot://webhook_key"]      # WeCom group robot
    "chen.jing" = ["feishu://hook_token", "lark://hook_token"]

    [cloud.sync]                           # empty URL = connector off
    geojson_webhook_url = "https://cim.example.cn/hooks/debris"
    sensorthings_url = "https://cim.example.cn/FROST-Server/v1.1"

Web Push needs no config: the VAPID key is generated under ``data_dir/notify/`` on first start.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class SegmentConfig(BaseModel):
    """A stretch of river and who answers for it."""

    id: str
    name: str = ""
    river: str = ""
    inspectors: list[str] = Field(default_factory=list, description="Inspector ids paged for this stretch.")
    review_required: bool = Field(default=False, description="AI finds need human confirmation first.")
    patrol_every_h: float = Field(
        default=0.0,
        ge=0,
        description=(
            "A flight over this stretch is due this often, hours; a stretch overdue pages its"
            " supervisors once (0: no schedule)."
        ),
    )
    supervisors: list[str] = Field(
        default_factory=list,
        description=(
            "Who is paged when a find here lies unclaimed ``unclaimed_escalate_h`` (the stretch's river"
            " chief); none: its inspectors are paged again."
        ),
    )


class NotifyConfig(BaseModel):
    """Where and how often inspectors are paged."""

    apprise_urls: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Inspector id -> apprise URLs (wecom://, dingtalk://, feishu://...).",
        json_schema_extra={"secret": True},  # the URLs hold the bots' keys
    )
    cooldown_s: float = Field(
        default=300.0, ge=0, description="After a page, a segment stays quiet this long."
    )
    per_segment_per_hour: int = Field(default=6, ge=0, description="Most pages per segment in any hour.")
    webpush_subject: str = Field(
        default="mailto:river-ops@example.org", description="VAPID 'sub' claim: who push services contact."
    )
    webpush_ttl_s: int = Field(
        default=3600, ge=0, description="How long a push service keeps an undelivered page."
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Per-delivery timeout of every channel.")
    claim_reminder_h: float = Field(
        default=4.0,
        ge=0,
        description="Remind an inspector of a find they claimed this long ago, hours (0: never).",
    )
    unclaimed_escalate_h: float = Field(
        default=2.0,
        ge=0,
        description=(
            "Page a stretch's supervisors (else its inspectors, again) about a find nobody has claimed"
            " this long after it was found or handed back, hours (0: never)."
        ),
    )
    timezone: str = Field(default="Asia/Shanghai", description="Time zone of the times written in pages.")
    language: Literal["en", "zh"] = Field(
        default="en",
        description="Language of the pages' text: en, or zh (Chinese) for WeCom/DingTalk/Feishu.",
    )


class SyncConfig(BaseModel):
    """Outbound CIM connectors; empty URL disables one."""

    geojson_webhook_url: str = ""
    geojson_webhook_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra headers on every webhook POST (e.g. Authorization).",
        json_schema_extra={"secret": True},
    )
    sensorthings_url: str = Field(default="", description="Service root, e.g. http://host/FROST-Server/v1.1")
    sensorthings_sensor_name: str = Field(
        default="riverpatrol-debris-detector", description="Sensor entity: the on-board detector model."
    )
    backoff_base_s: float = Field(default=1.0, gt=0, description="First retry delay; doubles per failure.")
    backoff_max_s: float = Field(default=300.0, gt=0, description="Longest delay between retries.")
    timeout_s: float = Field(default=10.0, gt=0, description="Per-request timeout.")
