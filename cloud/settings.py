"""Settings of the cloud service: ``[cloud]`` of the TOML config and ``RIVERPATROL_CLOUD_*`` env.

The integrations' own tables are embedded: ``[cloud.notify]``, ``[cloud.sync]`` and
``[[cloud.segments]]`` (see ``cloud/integrations_config.py``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from cloud.integrations_config import NotifyConfig, SegmentConfig, SyncConfig
from contract.defaults import CLOUD_HOST, CLOUD_PORT
from contract.settings import ComponentSettings


class CloudSettings(ComponentSettings):
    """Everything the cloud service reads at start-up."""

    section = "cloud"

    host: str = CLOUD_HOST
    port: int = CLOUD_PORT
    data_dir: Path = Field(
        default=Path("var/cloud"),
        description="the server's own files (the default SQLite DB, the Web Push key, the subscriptions, the"
        " pages sent, the connectors' outboxes); one running server per data_dir",
    )
    db_url: str = Field(
        default="",
        description="sqlite:///path/to.db or postgresql://user@host/db; empty = SQLite in data_dir.",
    )
    station_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="Ground-station id -> bearer token (plain, or 'sha256:<hex>' of the token).",
    )
    inspector_tokens: dict[str, str] = Field(
        default_factory=dict,
        description="Inspector id -> bearer token (plain or 'sha256:<hex>') for work-order actions.",
    )
    merge_radius_m: float = Field(default=5.0, ge=0, description="A find this close to an open order merges.")
    segment_max_distance_m: float = Field(
        default=300.0, gt=0, description="A find farther than this from every segment maps to none."
    )
    segment_lines: dict[str, list[tuple[float, float]]] = Field(
        default_factory=dict,
        description="Segment id -> centerline [[lon, lat], ...] (overrides the bundled river lines).",
    )
    max_batch: int = Field(default=5000, ge=1, description="Most alerts accepted in one POST.")
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    max_thumbnail_bytes: int = Field(default=512 * 1024, ge=1024)
    max_photo_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest JPEG an inspector may send with `clear`."
    )
    photo_retention_days: float = Field(
        default=365.0,
        ge=0,
        description=(
            "Drop the drone's pictures and the inspector's photo of a find this many days after its"
            " order closed (cleared or false alarm); the find itself stays. 0 keeps them forever."
        ),
    )
    db_pool_size: int = Field(default=4, ge=1, description="PostgreSQL connections held by the server.")
    public_url: str = Field(default="", description="Base URL for absolute links; empty = from request.")
    log_level: str = "INFO"

    segments: list[SegmentConfig] = Field(default_factory=list)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)

    @field_validator("db_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if v and not v.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError(f"db_url {v!r} must start with sqlite:/// or postgresql://")
        return v

    def resolved_db_url(self) -> str:
        """The DB URL to open: ``db_url`` or SQLite under ``data_dir``."""
        return self.db_url or f"sqlite:///{self.data_dir / 'cloud.db'}"

    def segment(self, segment_id: str | None) -> SegmentConfig | None:
        return next((s for s in self.segments if s.id == segment_id), None)

    def segment_name(self, segment_id: str, geo_name: str | None = None) -> str:
        """What people call a stretch: its configured name, else its geometry's, else its id."""
        conf = self.segment(segment_id)
        return (conf.name if conf and conf.name else None) or geo_name or segment_id
