"""One settings object per component, loaded from a TOML file and the environment.

Precedence, highest first: explicit overrides (command-line options) > environment
(``RIVERPATROL_<SECTION>_<FIELD>``) > the ``[<section>]`` table of the TOML file named by
``--config`` or ``RIVERPATROL_CONFIG`` > the defaults in the class.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

_file_values: ContextVar[dict[str, Any] | None] = ContextVar("_file_values", default=None)


class _FileSource(PydanticBaseSettingsSource):
    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ is used instead
        return (_file_values.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_file_values.get() or {})


class SettingsError(ValueError):
    """Settings that cannot be used: a missing or unreadable config file, or a bad value.

    The message names the section, each bad field and what was given, on one line, so a
    command can print it as it is instead of pydantic's report or a traceback; ``fields`` lists
    the bad fields (dotted, as in the message), so a command can name the option behind one.
    """

    def __init__(self, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


def _where(e: Any) -> str:
    return ".".join(str(part) for part in e["loc"]) or "(settings)"


def _secret(field: str) -> bool:
    """A field whose value must not be echoed in an error (a token, password or key)."""
    return any(word in field.lower() for word in ("token", "password", "secret", "key"))


def _describe(section: str, error: ValidationError) -> str:
    """Each bad field as ``[section] field: what is wrong (got value)``, joined by "; "."""
    lines = []
    for e in error.errors():
        where = _where(e)
        msg = e["msg"].removeprefix("Value error, ")
        given = e.get("input")
        if e["type"] == "extra_forbidden":
            msg = "no such setting"
        elif isinstance(given, str | int | float | bool) and repr(given) not in msg and not _secret(where):
            msg += f" (got {given!r})"
        lines.append(f"[{section}] {where}: {msg}")
    return "; ".join(lines)


def settings_error(section: str, error: ValidationError) -> SettingsError:
    """``error`` as a :class:`SettingsError`: one line naming each bad field, and the fields."""
    return SettingsError(_describe(section, error), tuple(_where(e) for e in error.errors()))


class ComponentSettings(BaseSettings):
    """Base class: subclasses set ``section`` and declare typed fields with defaults."""

    section: ClassVar[str] = ""
    model_config = SettingsConfigDict(extra="forbid", env_nested_delimiter="__")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.section:
            cls.model_config = {**cls.model_config, "env_prefix": f"RIVERPATROL_{cls.section.upper()}_"}

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings, env_settings, _FileSource(settings_cls))

    @classmethod
    def load(cls, config: Path | str | None = None, **overrides: Any) -> Self:
        """Settings from ``config`` (or ``$RIVERPATROL_CONFIG``), env and non-None overrides.

        Raises :class:`SettingsError` naming the file, or each bad field and its value.
        """
        path = config or os.environ.get("RIVERPATROL_CONFIG")
        values: dict[str, Any] = {}
        if path:
            p = Path(path)
            if not p.is_file():
                raise SettingsError(f"config file {p} does not exist")
            try:
                with p.open("rb") as f:
                    values = tomllib.load(f).get(cls.section, {})
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
                raise SettingsError(f"config file {p}: {e}") from None
            if not isinstance(values, dict):
                raise SettingsError(f"config file {p}: [{cls.section}] is not a table")
        token = _file_values.set(values)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as e:
            raise settings_error(cls.section, e) from None
        finally:
            _file_values.reset(token)
