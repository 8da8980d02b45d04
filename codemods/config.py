"""`[tool.celery-codemod]` in pyproject.toml, found by walking up from the working directory.

Command-line options win over the file. An unknown key or a value of the wrong type is a
configuration error (exit 2) whose message names the key and the file.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codemods.model import DIAGNOSTIC_CODES, OptionValue

SEVERITIES = ("error", "warning", "info", "off")


# At most 30 digits: anything longer is far beyond MAX_SIZE anyway.
SIZE = re.compile(r"^\s*(\d{1,30}(?:\.\d{1,30})?)\s*([KMG]i?B|B)?\s*$", re.IGNORECASE)
MAX_SIZE = 2**63 - 1
SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_size(text: object) -> int | None:
    """Bytes from `1048576`, `"10MB"`, `"512 KiB"`; None when it is not a size of at least one
    byte (nor more than 8 EiB)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        size = text
    elif isinstance(text, str | float):
        match = SIZE.match(str(text))
        if match is None:
            return None
        from decimal import Decimal

        size = int(Decimal(match.group(1)) * SIZE_UNITS[(match.group(2) or "b").lower()])
    else:
        return None
    return size if 0 < size <= MAX_SIZE else None


def shortened(text: str, limit: int = 60) -> str:
    """`text` as a repr short enough for a one-line message."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


class SettingError(ValueError):
    """A worker setting's value that cannot be used; the message says why."""


def _reject_constant(name: str) -> float:
    raise SettingError(f"{name} is not a value a setting can have")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SettingError(f"{text} is not a finite number")
    return value


def setting_value(raw: str) -> OptionValue:
    """A `NAME=VALUE` setting's value: JSON when it reads as JSON (`true`, `5`, `"x"`), else the
    text itself (`json`). Raises SettingError for what cannot be a setting's value."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite)
    except SettingError:
        raise
    except json.JSONDecodeError:
        return raw
    except ValueError:  # an integer of thousands of digits
        raise SettingError("the number has too many digits") from None
    except RecursionError:
        raise SettingError("nested too deeply") from None
    return scalar_setting(value)


def scalar_setting(value: object) -> OptionValue:
    """`value` when a setting can have it (a string, a finite number, a boolean, null)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingError(f"{value} is not a finite number")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise SettingError("the value must be a string, a number, true, false or null")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class FileConfig:
    """The settings of one `[tool.celery-codemod]` table; paths are resolved against its folder."""

    path: Path | None = None
    workers: tuple[Path, ...] = ()
    index: tuple[Path, ...] = ()
    source_roots: tuple[Path, ...] = ()
    options: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    split_depth: int | None = None
    # (Celery setting, value) pairs, from a table or from "NAME=VALUE" strings.
    worker_settings: tuple[tuple[str, OptionValue], ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    strict: bool | None = None
    jobs: int | None = None
    cache_dir: Path | None = None
    max_file_size: int | None = None


def find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(start: Path | None = None) -> FileConfig:
    """The nearest pyproject.toml's `[tool.celery-codemod]` table (empty when there is none)."""
    path = find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return FileConfig()
    if sys.version_info >= (3, 11):  # only when there is a file to read
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as error:
        raise ConfigError(f"{path}: cannot read ({error})") from None
    tool = document.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: tool: expected a table, not {type(tool).__name__}")
    table = tool.get("celery-codemod")
    if table is None:
        return FileConfig()
    return parse_table(table, path)


def _expect(ok: bool, path: Path, key: str, what: str) -> None:
    if not ok:
        raise ConfigError(f"{path}: [tool.celery-codemod] {key}: expected {what}")


def _strings(value: Any, path: Path, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    _expect(
        isinstance(value, list) and all(isinstance(v, str) for v in value),
        path,
        key,
        "a string or a list of strings",
    )
    return tuple(value)


def parse_table(table: Any, path: Path) -> FileConfig:
    _expect(isinstance(table, dict), path, "", "a table")
    base = path.parent

    def paths(key: str) -> tuple[Path, ...]:
        return tuple(base / p for p in _strings(table[key], path, key)) if key in table else ()

    known = {
        "workers", "index", "source-roots", "options", "exclude", "split-depth",
        "worker-settings", "severity", "strict", "jobs", "cache-dir", "max-file-size",
    }  # fmt: skip
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{path}: [tool.celery-codemod] unknown key {unknown[0]!r} "
            f"(known: {', '.join(sorted(known))})"
        )
    options = None
    if "options" in table:
        value = table["options"]
        names = value.split(",") if isinstance(value, str) else _strings(value, path, "options")
        options = tuple(n.strip() for n in names if n.strip())
    split_depth = table.get("split-depth")
    _expect(
        split_depth is None
        or (
            isinstance(split_depth, int) and not isinstance(split_depth, bool) and split_depth >= 0
        ),
        path,
        "split-depth",
        "a whole number >= 0",
    )
    jobs = table.get("jobs")
    _expect(
        jobs is None or (isinstance(jobs, int) and not isinstance(jobs, bool) and jobs >= 1),
        path,
        "jobs",
        "a whole number >= 1",
    )
    strict = table.get("strict")
    _expect(strict is None or isinstance(strict, bool), path, "strict", "true or false")
    severity = table.get("severity", {})
    _expect(
        isinstance(severity, dict) and all(v in SEVERITIES for v in severity.values()),
        path,
        "severity",
        f"a table of diagnostic codes to one of {', '.join(SEVERITIES)}",
    )
    for code in severity:
        _expect(code in DIAGNOSTIC_CODES, path, f"severity.{code}", "a diagnostic code")
    worker_settings = _worker_settings(table.get("worker-settings", {}), path)
    max_file_size = None
    if "max-file-size" in table:
        max_file_size = parse_size(table["max-file-size"])
        _expect(
            max_file_size is not None,
            path,
            "max-file-size",
            'a size from 1 byte to 8 EiB, such as "10MB"',
        )
    cache_dir = table.get("cache-dir")
    _expect(cache_dir is None or isinstance(cache_dir, str), path, "cache-dir", "a path")
    return FileConfig(
        path=path,
        workers=paths("workers"),
        index=paths("index"),
        source_roots=paths("source-roots"),
        options=options,
        exclude=_strings(table.get("exclude", []), path, "exclude"),
        split_depth=split_depth,
        worker_settings=worker_settings,
        severity=dict(severity),
        strict=strict,
        jobs=jobs,
        cache_dir=base / cache_dir if cache_dir else None,
        max_file_size=max_file_size,
    )


def _worker_settings(value: Any, path: Path) -> tuple[tuple[str, OptionValue], ...]:
    """A table of settings to values, or a list of "NAME=VALUE" strings, as typed pairs."""
    key = "worker-settings"
    pairs: list[tuple[str, object]] = []
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        for item in _strings(value, path, key):
            name, sep, raw = item.partition("=")
            _expect(bool(sep), path, key, f"NAME=VALUE strings, not {shortened(item)}")
            try:
                pairs.append((name.strip(), setting_value(raw)))
            except SettingError as error:
                raise ConfigError(
                    f"{path}: [tool.celery-codemod] {key}: {shortened(item)}: {error}"
                ) from None
    settings = []
    for name, raw_value in pairs:
        try:
            settings.append((name, scalar_setting(raw_value)))
        except SettingError as error:
            raise ConfigError(f"{path}: [tool.celery-codemod] {key}.{name}: {error}") from None
    return tuple(settings)
