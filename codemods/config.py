"""`[tool.celery-codemod]` in pyproject.toml, found by walking up from the working directory.

Command-line options win over the file. An unknown key or a value of the wrong type is a
configuration error (exit 2) whose message names the key and the file.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from codemods.model import DIAGNOSTIC_CODES

SEVERITIES = ("error", "warning", "info", "off")


SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$", re.IGNORECASE)
SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_size(text: str | int) -> int | None:
    """Bytes from `1048576`, `"10MB"`, `"512 KiB"`; None when it is not a size."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if text >= 0 else None
    match = SIZE.match(str(text))
    if match is None:
        return None
    return int(float(match.group(1)) * SIZE_UNITS[(match.group(2) or "b").lower()])


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
    worker_settings: tuple[str, ...] = ()
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
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read ({error})") from None
    table = document.get("tool", {}).get("celery-codemod")
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
    settings = table.get("worker-settings", {})
    if isinstance(settings, dict):
        _expect(
            all(isinstance(v, str | int | float | bool) for v in settings.values()),
            path,
            "worker-settings",
            "a table of Celery settings to scalar values",
        )
        worker_settings = tuple(f"{k}={_toml_scalar(v)}" for k, v in settings.items())
    else:
        worker_settings = _strings(settings, path, "worker-settings")
    max_file_size = None
    if "max-file-size" in table:
        max_file_size = parse_size(table["max-file-size"])
        _expect(max_file_size is not None, path, "max-file-size", 'a size such as "10MB"')
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


def _toml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
