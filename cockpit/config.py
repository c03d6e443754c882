"""cockpit.toml: parsed with tomllib, validated into typed settings with pydantic.

Errors name the file, the line, the key path and what was expected. `${NAME}` in a
string is taken from the environment; such values are secrets and never printed back.
"""

from __future__ import annotations

import importlib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from cockpit.errors import ConfigError
from cockpit.registry import Registry
from cockpit.store import is_url
from cockpit.timeutil import zone

if TYPE_CHECKING:  # the feature modules load their sections on demand (FEATURE_CONFIG_MODULES)
    from cockpit.alerts.config import AlertingSettings, AnyRule, Receiver
    from cockpit.calendar.config import CalendarSettings
    from cockpit.collect.config import CollectSettings
    from cockpit.moderation.config import ModerationSettings, WelcomeSettings
    from cockpit.scoring.config import ScoringSettings

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
KeyPath = tuple[str | int, ...]


def _check_zone(value: str) -> str:
    zone(value)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CockpitSettings(Strict):
    community: str = Field("default", min_length=1, description="community of records without one")
    timezone: str = "UTC"
    store: str | None = None
    regions: list[str] = Field(
        default_factory=lambda: [
            "America/Los_Angeles",
            "America/Sao_Paulo",
            "Europe/Berlin",
            "Africa/Lagos",
            "Asia/Jakarta",
        ]
    )

    _zone = field_validator("timezone")(_check_zone)

    @field_validator("regions")
    @classmethod
    def _zones(cls, value: list[str]) -> list[str]:
        for name in value:
            zone(name)
        return value


class ImportSettings(Strict):
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return _check_zone(value) if value is not None else None


class FileSettings(BaseModel):
    # other top-level sections belong to features (see `feature_sections`)
    model_config = ConfigDict(extra="allow", frozen=True)

    cockpit: CockpitSettings = Field(default_factory=CockpitSettings)
    import_: ImportSettings = Field(default_factory=ImportSettings, alias="import")
    sources: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(frozen=True)
class SourceConfig:
    """One configured live source: its type, a unique name, and the plugin's typed settings."""

    type: str
    name: str
    community: str
    enabled: bool
    settings: BaseModel


# Features keep their config sections in their own package: a module listed here exposes
# `SECTIONS: dict[str, pydantic.TypeAdapter]` (top-level key -> validator of its value).
FEATURE_CONFIG_MODULES = (
    "cockpit.alerts.config",
    "cockpit.calendar.config",
    "cockpit.collect.config",
    "cockpit.moderation.config",
    "cockpit.scoring.config",
)


def feature_sections() -> dict[str, TypeAdapter[Any]]:
    sections: dict[str, TypeAdapter[Any]] = {}
    for name in FEATURE_CONFIG_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that feature is not part of this build
            raise
        sections.update(module.SECTIONS)
    return sections


@dataclass(frozen=True)
class Config:
    path: Path | None
    cockpit: CockpitSettings
    import_tz: str | None
    sources: list[SourceConfig]
    secret_paths: frozenset[KeyPath] = field(default_factory=frozenset)
    # validated feature sections by top-level key; absent keys hold the feature's default
    sections: dict[str, Any] = field(default_factory=dict)
    # (value, variable name) of every `${NAME}` substituted: never printed back
    secret_values: tuple[tuple[str, str], ...] = ()

    def redact(self, text: str) -> str:
        """`text` with every value that came from the environment shown as `${NAME}`."""
        return redact(text, self.secret_values)

    # `${NAME}` values whose variable is unset: (key path, the error naming file, line and key).
    # Only what starts sources needs them (require_secrets); reading the store does not.
    missing_secrets: tuple[tuple[KeyPath, str], ...] = ()

    def require_secrets(self) -> None:
        """Refuse (naming file, line and variable) when a secret an enabled source or another
        section needs is unset; a disabled source's secrets are never needed."""
        for path, message in self.missing_secrets:
            if len(path) >= 2 and path[0] == "sources" and isinstance(path[1], int):
                index = path[1]
                if index < len(self.sources) and not self.sources[index].enabled:
                    continue
            raise ConfigError(message)

    def section(self, key: str) -> Any:
        """A feature's validated section (its default when the file does not have it)."""
        if key in self.sections:
            return self.sections[key]
        adapter = feature_sections().get(key)
        if adapter is None:
            raise KeyError(key)
        return adapter.validate_python({} if _wants_mapping(adapter) else [])

    # typed sections: what each feature reads, so no caller handles an `Any`
    @property
    def rules(self) -> list[AnyRule]:
        return cast("list[AnyRule]", self.section("rules"))

    @property
    def receivers(self) -> list[Receiver]:
        return cast("list[Receiver]", self.section("receivers"))

    @property
    def alerting(self) -> AlertingSettings:
        return cast("AlertingSettings", self.section("alerting"))

    @property
    def scoring(self) -> ScoringSettings:
        return cast("ScoringSettings", self.section("scoring"))

    @property
    def calendar(self) -> CalendarSettings:
        return cast("CalendarSettings", self.section("calendar"))

    @property
    def collect(self) -> CollectSettings:
        return cast("CollectSettings", self.section("collect"))

    @property
    def moderation(self) -> ModerationSettings:
        return cast("ModerationSettings", self.section("moderation"))

    @property
    def welcome(self) -> WelcomeSettings:
        return cast("WelcomeSettings", self.section("welcome"))

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def store_path(self, override: str | None = None) -> Path | str:
        """--db, then COCKPIT_DB, then the config's `cockpit.store`, then the user data dir.
        A URL (`postgresql://...`) is returned as it is: it is no file path."""
        chosen = override or os.environ.get("COCKPIT_DB")
        if chosen:
            return chosen if is_url(chosen) else Path(chosen).expanduser()
        if self.cockpit.store:
            if is_url(self.cockpit.store):
                return self.cockpit.store
            p = Path(self.cockpit.store).expanduser()
            return p if p.is_absolute() else self.base_dir / p
        return Path(platformdirs.user_data_dir("cockpit")) / "cockpit.db"


def _wants_mapping(adapter: TypeAdapter[Any]) -> bool:
    return adapter.json_schema().get("type") != "array"


def parse_toml(text: str) -> dict[str, Any]:
    """`tomllib.loads`, with nesting deeper than Python's recursion refused as invalid TOML.

    tomllib recurses once per nested array or inline table, so a file nested thousands
    deep would otherwise end in a RecursionError traceback.
    """
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise TomlTooDeep("nested too deeply (arrays or inline tables inside each other)") from None


class TomlTooDeep(ValueError):
    """A TOML document nested past what the parser can follow."""


def default_config_path() -> Path | None:
    local = Path("cockpit.toml")
    if local.is_file():
        return local
    user = Path(platformdirs.user_config_dir("cockpit")) / "cockpit.toml"
    return user if user.is_file() else None


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map key paths to the line that sets them, for error messages (tables, arrays of tables, keys)."""
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    counts: dict[KeyPath, int] = {}
    header = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
    keyline = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=""")
    for number, raw in enumerate(text.splitlines(), start=1):
        h = header.match(raw)
        if h:
            parts: KeyPath = tuple(p.strip().strip("\"'") for p in h.group(2).split("."))
            if h.group(1) == "[[":
                index = counts.get(parts, 0)
                counts[parts] = index + 1
                table = (*parts, index)
            else:
                table = parts
            lines.setdefault(table, number)
            continue
        k = keyline.match(raw)
        if k:
            key: KeyPath = tuple(p.strip().strip("\"'") for p in k.group(1).split("."))
            lines.setdefault((*table, *key), number)
    return lines


def _line_for(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _substitute(
    value: Any, path: KeyPath, secrets: set[KeyPath], missing: dict[KeyPath, str]
) -> Any:
    """`${NAME}` from the environment; an unset one stays as written and is noted in `missing`."""
    if isinstance(value, str):
        if not _ENV.search(value):
            return value

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in os.environ:
                missing.setdefault(path, name)
                return m.group(0)
            return os.environ[name]

        secrets.add(path)
        return _ENV.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v, (*path, k), secrets, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*path, i), secrets, missing) for i, v in enumerate(value)]
    return value


def _secret_values(raw: Any, secrets: set[KeyPath]) -> tuple[tuple[str, str], ...]:
    """The environment values substituted at `secrets` (read from the raw templates there)."""
    found: dict[str, str] = {}
    for path in secrets:
        template: Any = raw
        for part in path:
            template = template[part]
        for name in _ENV.findall(str(template)):
            value = os.environ.get(name, "")
            if len(value) >= MIN_REDACTED:
                found[value] = name
    # longest first, so a value that contains another is replaced whole
    return tuple(sorted(found.items(), key=lambda item: -len(item[0])))


# values shorter than this are not searched for in messages (they would hit every "line 1")
MIN_REDACTED = 3


def redact(text: str, secrets: tuple[tuple[str, str], ...]) -> str:
    """Replace each secret value, as written or as Python quotes it (repr), by `${NAME}`."""
    for value, name in secrets:
        quoted = repr(value)[1:-1]
        text = text.replace(value, f"${{{name}}}")
        if quoted != value:
            text = text.replace(quoted, f"${{{name}}}")
    return text


def _errors(exc: ValidationError, prefix: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    for err in exc.errors(include_input=False, include_url=False):
        loc: KeyPath = tuple(
            "import" if part == "import_" else part
            for part in err["loc"]
            if isinstance(part, str | int)
        )
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        yield (*prefix, *loc), message


def load_config(path: Path | None, registry: Registry) -> Config:
    """Read and validate a config file; `path=None` gives the defaults."""
    if path is None:
        return Config(None, CockpitSettings(), None, [])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    try:
        raw = parse_toml(text)
    except (tomllib.TOMLDecodeError, TomlTooDeep) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    lines = key_lines(text)

    secrets: set[KeyPath] = set()
    secret_values: tuple[tuple[str, str], ...] = ()

    def fail(key: KeyPath, message: str) -> ConfigError:
        line = _line_for(lines, key)
        where = f"{path}:{line}" if line else str(path)
        # a value from the environment may be echoed by a validator (a zone, a name, a regex)
        return ConfigError(redact(f"{where}: {_dotted(key)}: {message}", secret_values))

    missing: dict[KeyPath, str] = {}
    data = _substitute(raw, (), secrets, missing)
    unset = tuple(
        (key, str(fail(key, f"environment variable {name} is not set")))
        for key, name in missing.items()
    )
    secret_values = _secret_values(raw, secrets)
    try:
        settings = FileSettings.model_validate(data)
    except ValidationError as exc:
        key, message = next(_errors(exc, ()))
        raise fail(key, message) from None

    sections: dict[str, Any] = {}
    known = feature_sections()
    for name, value in (settings.model_extra or {}).items():
        adapter = known.get(name)
        if adapter is None:
            raise fail((name,), "unknown key")
        try:
            sections[name] = adapter.validate_python(value)
        except ValidationError as exc:
            bad_key, message = next(_errors(exc, (name,)))
            raise fail(bad_key, message) from None

    sources: list[SourceConfig] = []
    names: set[str] = set()
    types = registry.source_types
    for index, entry in enumerate(settings.sources):
        base: KeyPath = ("sources", index)
        kind = entry.get("type")
        if not isinstance(kind, str):
            raise fail(base, "missing `type` (one of: " + ", ".join(sorted(types)) + ")")
        if kind not in types:
            raise fail(
                (*base, "type"), f"unknown source type {kind!r} (known: {', '.join(sorted(types))})"
            )
        name = entry.get("name", kind)
        if not isinstance(name, str) or not name:
            raise fail((*base, "name"), "expected a non-empty string")
        if name in names:
            raise fail((*base, "name"), f"source name {name!r} is used twice")
        names.add(name)
        community = entry.get("community", settings.cockpit.community)
        if not isinstance(community, str) or not community:
            raise fail((*base, "community"), "expected a non-empty string")
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise fail((*base, "enabled"), "expected true or false")
        rest = {k: v for k, v in entry.items() if k not in ("type", "name", "community", "enabled")}
        try:
            typed = types[kind].settings.model_validate(rest)
        except ValidationError as exc:
            key, message = next(_errors(exc, base))
            raise fail(key, message) from None
        sources.append(SourceConfig(kind, name, community, enabled, typed))

    return Config(
        path,
        settings.cockpit,
        settings.import_.timezone,
        sources,
        frozenset(secrets),
        sections,
        secret_values,
        unset,
    )
