"""One settings object per component, loaded from a TOML file and the environment.

Precedence, highest first: explicit overrides (command-line options) > environment
(``RIVERPATROL_<SECTION>_<FIELD>``) > the ``[<section>]`` table of the TOML file named by
``--config`` or ``RIVERPATROL_CONFIG`` > the defaults in the class.
"""

from __future__ import annotations

import enum
import inspect
import json
import math
import os
import re
import textwrap
import tomllib
import typing
from contextvars import ContextVar
from pathlib import Path, PurePath
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ValidationError
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


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    """``v`` as a TOML value (strings, numbers, booleans, paths, enums, arrays, inline tables)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return ("inf" if v > 0 else "-inf") if math.isinf(v) else "nan" if math.isnan(v) else repr(v)
    if isinstance(v, enum.Enum):
        return _value(v.value)
    if isinstance(v, str | PurePath):
        return json.dumps(str(v), ensure_ascii=False)  # JSON's escapes are TOML's basic-string ones
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if isinstance(v, list | tuple | set | frozenset):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def _comment(text: str | None) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap((text or "").replace("``", "`"), 96)]


_URL_PASSWORD = re.compile(r"(?<=://)([^/:@]*):[^/@]*@")


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """``M`` of a ``list[M]`` field whose items are tables (``[[...]]``), else None."""
    args = typing.get_args(annotation)
    ok = typing.get_origin(annotation) is list and args and isinstance(args[0], type)
    return args[0] if ok and issubclass(args[0], BaseModel) else None


def _table(header: str, model: BaseModel, array: bool = False) -> list[str]:
    """One table of ``model``'s fields, each under its description; its sub-tables after it.

    A field is a secret (set, it is not shown) when its name says token, password, secret or
    key, or its ``json_schema_extra`` has ``secret``; a password in a URL is never shown.
    """
    out = [f"[[{header}]]" if array else f"[{header}]"]
    doc = inspect.getdoc(type(model))
    if doc and not array:
        out[:0] = _comment(doc.splitlines()[0])
    later: list[str] = []
    for name, field in type(model).model_fields.items():
        v = getattr(model, name)
        sub = f"{header}.{_key(name)}"
        item = _item_model(field.annotation)
        secret = _secret(name) or bool((field.json_schema_extra or {}).get("secret"))  # type: ignore[union-attr]
        if isinstance(v, BaseModel):
            later += ["", *_comment(field.description), *_table(sub, v)]
        elif item is not None:
            later += ["", *_comment(field.description or inspect.getdoc(item))]
            for x in v:
                later += _table(sub, x, array=True)
            if not v:  # none yet: a commented one to copy
                later.append(f"# [[{sub}]]")
                for n, f in item.model_fields.items():
                    example = "" if f.is_required() else f.get_default(call_default_factory=True)
                    later.append(f"# {_key(n)} = {_value(example)}")
        else:
            out += _comment(field.description)
            if v is None:
                out.append(f"# {_key(name)} =  (not set)")
            elif secret and v:
                shown = {k: "..." for k in v} if isinstance(v, dict) else "..."
                out.append(f"# {_key(name)} = {_value(shown)}  (set, not shown: a secret)")
            else:
                if isinstance(v, str):
                    v = _URL_PASSWORD.sub(r"\1:...@", v)
                out.append(f"{_key(name)} = {_value(v)}")
    return [*out, *later]


def to_toml(settings: BaseModel, section: str | None = None) -> str:
    """``settings`` as the ``[section]`` of a config file, every field under its description.

    What ``riverpatrol <component> config`` prints: a file to start from, or what a service
    runs with. Unset fields are commented out; secrets that are set are not shown.
    """
    return "\n".join(_table(section or getattr(settings, "section", ""), settings)) + "\n"


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
