"""Source roots, found the way the code implies them when none are given.

Celery names a task after the module its function was imported as, so a file's module name
depends on which folder is on `sys.path`. Walking up `__init__.py` files gets that wrong for
Django projects whose `manage.py` folder is itself a package, apps without `__init__.py`,
namespace packages and src layouts. Two kinds of evidence fix it:

- absolute imports: `from proj.celery_api import app`, with a file `x/proj/celery_api.py` in the
  tree, makes `x/proj` a top-level package (so `x` is on `sys.path`), whatever `__init__.py`
  files sit above it. An import counts when it names a module file or package of the tree by
  at least two parts (one part, such as `celery`, is too often an installed library that a
  project file shares its name with), is not the standard library, and does not land on the
  importing file. When several folders match, the one above the importer wins (each service of
  a monorepo has its own root). A folder inside a package that imports reach stays a
  subpackage (`saleor/graphql` beside the `graphql` library).
- marker files: the folder of `manage.py` (Django puts it on `sys.path`), a `src/` folder that
  is not a package beside a packaging file, and the package folders `pyproject.toml`,
  `setup.cfg` or `setup.py` declare, unless imports reach that folder as a package (a
  `manage.py` module inside a package). Files directly in such a folder keep their names.

Files that no evidence reaches keep the name their `__init__.py` files give, so a standard
layout keeps the names it always had.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from codemods.astutil import iter_statements

STDLIB = frozenset(sys.stdlib_module_names)
# No real import names more parts than this; longer ones are no evidence, which keeps every step
# linear in the number of files and imports however deep the folders go.
MAX_PARTS = 32
MARKER_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


def absolute_imports(tree: ast.Module) -> tuple[str, ...]:
    """The dotted names a module imports absolutely, also inside functions: `import a.b` gives
    `a.b`; `from a.b import c` gives `a.b.c` (c may be a module) and `a.b`."""
    found: dict[str, None] = {}
    for node in iter_statements(tree.body, into_definitions=True):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.name] = None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if alias.name != "*":
                    found[f"{node.module}.{alias.name}"] = None
            found[node.module] = None
    return tuple(found)


# An import statement's first line, as bytes: enough to guess the layout before parsing.
IMPORT_LINE = re.compile(
    rb"^[ \t]*(?:from[ \t]+([A-Za-z_][\w.]*)[ \t]+import[ \t]+([^\n#;]*)|import[ \t]+([^\n#;]*))",
    re.MULTILINE,
)
NAME = re.compile(r"[A-Za-z_][\w.]*")


def imports_in_bytes(data: bytes) -> tuple[str, ...]:
    """What `absolute_imports` would find, read line by line without parsing (an import in a
    string counts too, a parenthesised list gives its first line's names): a guess that
    `absolute_imports` corrects once the file is parsed."""
    found: dict[str, None] = {}
    for module, names, plain in IMPORT_LINE.findall(data):
        if module:
            text = module.decode("ascii")
            for alias in names.decode("utf-8", "replace").strip(" ()\\").split(","):
                name = NAME.match(alias.strip())
                if name and name.group() != "*":
                    found[f"{text}.{name.group()}"] = None
            found[text] = None
        else:
            for alias in plain.decode("utf-8", "replace").split(","):
                name = NAME.match(alias.strip())
                if name:
                    found[name.group()] = None
    return tuple(found)


@dataclass(frozen=True)
class Layout:
    """Where module names start: `tops` are top-level package folders, `roots` folders whose
    subfolders are top-level packages; `reasons` says why each root (the parent of a top, or a
    root) was chosen. Folders are absolute, real paths, as text."""

    tops: frozenset[str] = frozenset()
    roots: frozenset[str] = frozenset()
    reasons: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tops or self.roots)


def infer_layout(
    files: Iterable[str], imports: Mapping[str, Iterable[str]], markers: Mapping[str, str]
) -> Layout:
    """The layout implied by the absolute `imports` of the `files` (absolute, real paths, as
    are the keys of `imports`) and by `markers` (root folder -> the file that marks it)."""
    wanted = {name for names in imports.values() for name in names if _may_count(name)}
    landings = _landings(files, wanted)
    candidates: set[str] = set()
    packages: set[str] = set()  # folders the imports reach as packages
    for importer, names in imports.items():
        for name in names:
            found = landings.get(name)
            top = _choose(importer, name, found) if found else None
            if top is None:
                continue
            candidates.add(top)
            packages.add(top)
            packages.update(_folders_below(top, name))
    # A folder inside a package that imports reach is a subpackage, not a top-level package
    # (`saleor/graphql` beside the `graphql` library), and never a root (a `manage.py` inside
    # a package is one of its modules).
    tops = frozenset(t for t in candidates if os.path.dirname(t) not in packages)
    roots = {root: why for root, why in markers.items() if root not in packages}
    reasons = {os.path.dirname(top): "imports" for top in tops}
    for root, why in roots.items():
        reasons.setdefault(root, why)
    return Layout(tops, frozenset(roots), reasons)


def _may_count(name: str) -> bool:
    parts = name.split(".")
    return (
        2 <= len(parts) <= MAX_PARTS
        and parts[0] not in STDLIB
        and all(p.isidentifier() for p in parts)
    )


def _landings(files: Iterable[str], wanted: set[str]) -> dict[str, dict[str, str]]:
    """Imported name -> {top-level package folder it implies: the file it lands on} for the
    files of the tree it may name."""
    landings: dict[str, dict[str, str]] = defaultdict(dict)
    heads = {name.partition(".")[0] for name in wanted}
    for path in files:
        parts = path.split(os.sep)
        if heads.isdisjoint(parts):
            continue  # no folder of it is named after an imported name's first part
        name = parts.pop()
        if name != "__init__.py":
            parts.append(name.removesuffix(".py"))
        for start in range(len(parts) - 2, max(0, len(parts) - 1 - MAX_PARTS), -1):
            if parts[start] not in heads:
                continue
            dotted = ".".join(parts[start:])
            if dotted in wanted:
                landings[dotted][os.sep.join(parts[: start + 1])] = path
    return landings


def _parent(folder: str) -> str:
    return folder.rpartition(os.sep)[0] or os.sep


def _under(path: str, folder: str) -> bool:
    return path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


def _choose(importer: str, name: str, tops: dict[str, str]) -> str | None:
    """The top-level package an import means: the nearest one whose root holds the importer
    (a few candidates are checked one by one; among many, the importer's folders are walked
    up, so the cost does not grow with them), else the only candidate; None when unsure.
    Landing on the importer itself is no evidence."""
    if len(tops) <= MAX_PARTS:
        above = [t for t, f in tops.items() if f != importer and _under(importer, _parent(t))]
        if above:
            return max(above, key=len)
    else:
        head = name.partition(".")[0]
        folder = os.path.dirname(importer)
        for _ in range(MAX_PARTS * 4):  # deeper roots than that are not looked for
            top = os.path.join(folder, head)
            if tops.get(top, importer) != importer:
                return top
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    if len(tops) > 2:
        return None
    others = [top for top, target in tops.items() if target != importer]
    return others[0] if len(others) == 1 else None


def _folders_below(top: str, name: str) -> Iterable[str]:
    """The package folders an import passes through below its top-level package."""
    folder = top
    for part in name.split(".")[1:-1]:
        folder = os.path.join(folder, part)
        yield folder


def marker_roots(files: Iterable[str], bounds: Iterable[str]) -> dict[str, str]:
    """Root folders that marker files imply, for the tree of `files` (absolute, real paths),
    looking only in folders under `bounds` (the trees given and the working folder).

    Reads `pyproject.toml`, `setup.cfg` and `setup.py`: the part of the inference that touches
    the disk.
    """
    bounds = tuple(bounds)
    folders: set[str] = set()
    roots: dict[str, str] = {}
    parents = set()
    for path in files:
        folder, _, name = path.rpartition(os.sep)
        folder = folder or os.sep
        parents.add(folder)
        if name == "manage.py":
            roots.setdefault(folder, "manage.py")
    for folder in parents:
        while folder not in folders and any(folder == b or _under(folder, b) for b in bounds):
            folders.add(folder)
            folder = os.path.dirname(folder)
    isfile = _is_file
    for folder in sorted(folders):
        inside = folder if folder.endswith(os.sep) else folder + os.sep  # os.path.join's way
        if (
            os.path.basename(folder) == "src"
            and not isfile(inside + "__init__.py")
            and any(isfile(os.path.join(folder, "..", m)) for m in MARKER_FILES)
        ):
            roots.setdefault(folder, "src layout")
        for marker in MARKER_FILES:
            config = inside + marker
            if not isfile(config):
                continue
            for where in _declared_roots(Path(config)):
                target = os.path.normpath(os.path.join(folder, where))
                if target != folder and target in folders:
                    roots.setdefault(target, marker)
    return roots


def _is_file(path: str) -> bool:
    """`os.path.isfile`, without an error raised and caught for each missing file: most
    folders hold no marker file."""
    return os.access(path, os.F_OK) and os.path.isfile(path)


def _declared_roots(config: Path) -> list[str]:
    """Folders a packaging file puts packages in (`package-dir`, `where`, poetry's `from`)."""
    import configparser

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

    try:
        text = config.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    try:
        if config.name == "pyproject.toml":
            return _pyproject_roots(tomllib.loads(text))
        if config.name == "setup.cfg":
            return _setup_cfg_roots(text)
        return _setup_py_roots(ast.parse(text))
    except (tomllib.TOMLDecodeError, configparser.Error, SyntaxError, ValueError, RecursionError):
        return []


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _get(table: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(table, dict):
            return None
        table = table.get(key)
    return table


def _pyproject_roots(data: dict[str, object]) -> list[str]:
    found = _strings(_get(data, "tool", "setuptools", "packages", "find", "where"))
    package_dir = _get(data, "tool", "setuptools", "package-dir")
    if isinstance(package_dir, dict):
        found += _strings(package_dir.get(""))
    packages = _get(data, "tool", "poetry", "packages")
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict):
            found += _strings(package.get("from"))
    return found


def _setup_cfg_roots(text: str) -> list[str]:
    import configparser

    parser = configparser.ConfigParser()
    parser.read_string(text)
    found = []
    if parser.has_option("options.packages.find", "where"):
        found.append(parser.get("options.packages.find", "where").strip())
    if parser.has_option("options", "package_dir"):
        for line in parser.get("options", "package_dir").splitlines():
            key, _, value = line.partition("=")
            if not key.strip() and value.strip():
                found.append(value.strip())
    return found


def _setup_py_roots(tree: ast.Module) -> list[str]:
    """`setup(package_dir={"": "src"})`, `find_packages("src")`, `find_packages(where="src")`."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else None
        if isinstance(node.func, ast.Name):
            callee = node.func.id
        if callee in ("find_packages", "find_namespace_packages"):
            where = node.args[0] if node.args else None
            where = next((k.value for k in node.keywords if k.arg == "where"), where)
            if isinstance(where, ast.Constant) and isinstance(where.value, str):
                found.append(where.value)
        for keyword in node.keywords:
            if keyword.arg == "package_dir" and isinstance(keyword.value, ast.Dict):
                for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                    if (
                        isinstance(key, ast.Constant)
                        and key.value == ""
                        and isinstance(value, ast.Constant)
                        and isinstance(value.value, str)
                    ):
                        found.append(value.value)
    return found
